/**
 * Where a workerd process spends its CPU, by native category, from Linux `perf` (Debian's
 * linux-perf; the benchmark's `--perf` option, skipped with a note when perf is missing).
 *
 * V8's own CPU profile samples wall time and charges a synchronous native call (an fsync inside
 * a SQLite commit, an actor's database being created) to whatever JS frame is on the stack, so
 * it cannot say how much of a run is SQLite and how much is JavaScript. perf samples CPU time with
 * native stacks, and workerd ships with its symbols, so each sample can be put in one category by
 * the frames on its stack (the first category that matches, in the order below). JIT-compiled
 * JavaScript has no symbols here; it lands in "JavaScript and the runtime around it".
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Categories in match order: a sample counts in the first whose frames it has. */
const CATEGORIES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["creating a Durable Object (its database included)", ["worker_new_actor", "Worker::Actor::Actor"]],
  ["evicting a Durable Object", ["Worker::Actor::~Actor", "ActorHandle::~ActorHandle"]],
  ["SQLite commit: fsync", ["do_fsync", "__x64_sys_fdatasync"]],
  ["SQLite commit: WAL writes", ["vdbeCommit", "sqlite3PagerCommitPhaseOne", "pagerWalFrames", "sqlite3WalFrames"]],
  ["SQLite: preparing statements", ["sqlite3Prepare", "sqlite3LockAndPrepare"]],
  ["SQLite: running statements", ["sqlite3", "SqliteDatabase", "ActorSqlite", "SqlStorage"]],
  ["alarm scheduling", ["AlarmScheduler"]],
  ["garbage collection", ["Heap::CollectGarbage", "ScavengerCollector", "MarkCompactCollector", "cppgc::internal::Marker", "HeapTracer"]],
  ["HTTP in and out (fetch, requests)", ["fetchImpl", "kj::HttpClient", "HttpServer", "WorkerEntrypoint::request"]],
  ["RPC arguments and results (structured clone)", ["ValueSerializer", "ValueDeserializer", "jsg::Serializer", "jsg::Deserializer"]],
  ["JSON", ["JsonStringify", "JsonParse", "JsonStringifier", "JsonParser"]],
];
const REST = "JavaScript and the runtime around it";

export function perfAvailable(): boolean {
  return spawnSync("perf", ["--version"], { stdio: "ignore" }).status === 0;
}

export interface NativeProfile {
  samples: number;
  /** share of samples per category, 0..1, largest first */
  shares: Array<[string, number]>;
}

/** Starts `perf record` on `pid` (CPU-clock samples with call graphs); `stop()` ends it and classifies. */
export function recordNativeProfile(pid: number): { stop: () => Promise<NativeProfile> } {
  const out = join(tmpdir(), `warden-perf-${process.pid}-${Date.now()}.data`);
  const child = spawn("perf", ["record", "-F", "999", "-g", "-e", "cpu-clock", "-p", String(pid), "-o", out], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr?.on("data", (d) => (err = (err + String(d)).slice(-2000)));
  return {
    async stop() {
      const exited = new Promise<number | null>((r) => child.once("exit", r));
      child.kill("SIGINT");
      const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
      if (code === null) child.kill("SIGKILL");
      try {
        const script = spawnSync("perf", ["script", "-i", out, "-F", "comm,tid,ip,sym"], { maxBuffer: 1 << 30, encoding: "utf8" });
        if (script.status !== 0) throw new Error(`perf script failed: ${script.stderr.slice(-500)}\n${err}`);
        return classify(script.stdout);
      } finally {
        rmSync(out, { force: true });
      }
    },
  };
}

/** Classifies `perf script -F comm,tid,ip,sym` output: per sample a header line (`comm tid`), then one tab-indented frame per line. */
export function classify(text: string): NativeProfile {
  const counts = new Map<string, number>();
  let samples = 0;
  let frames: string[] | null = null;
  let comm = "";
  const flush = () => {
    if (!frames || comm !== "workerd") return;
    samples++;
    const hit = CATEGORIES.find(([, marks]) => frames!.some((f) => marks.some((m) => f.includes(m))));
    const key = hit ? hit[0] : REST;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    if (!line.startsWith("\t")) {
      flush();
      comm = line.trim().split(/\s+/)[0];
      frames = [];
    } else frames?.push(line.trim());
  }
  flush();
  const shares = [...counts].map(([k, n]) => [k, samples ? n / samples : 0] as [string, number]).sort((a, b) => b[1] - a[1]);
  return { samples, shares };
}

/** For a quick look at a saved `perf script` dump: `node bench/support/native-profile.ts FILE`. */
if (process.argv[1] === import.meta.filename && process.argv[2]) {
  const p = classify(readFileSync(process.argv[2], "utf8"));
  for (const [k, s] of p.shares) console.log(`${(s * 100).toFixed(1).padStart(5)}%  ${k}`);
  console.log(`${p.samples} samples`);
}
