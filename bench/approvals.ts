/**
 * Approvals benchmark (issue 5): runs parked on an `approval` node in local workerd
 * (`wrangler dev --persist-to <tmp>`, one Durable Object per run), driven through the public API.
 *
 *  - Resume latency: the time from sending `POST /v1/approvals/:id/decision` (bench clock) to
 *    the moment the local tool server receives that run's next side effect, the `ping` tool call
 *    of the node after the approval. 1,000 runs wait at once. 50 more are decided one at a time;
 *    then 400 of the 1,000 are decided open loop at 20 decisions/s (each sent on schedule, whether
 *    or not the earlier ones were answered: the latency the target is about, below saturation),
 *    and the other 600 with 50 in flight and no pause (saturation: the capacity, in decisions/s,
 *    and the queueing it causes).
 *  - Baseline in the same invocation: the same measurement for a plain operator resume,
 *    `POST /v1/runs/:id/resume` of a run paused on a `wait` node whose timer has already
 *    fired, so that the next thing it does is the same `ping` call. Both paths end in the
 *    same `kick()` → alarm → drive; the difference is what an approval decision adds (the
 *    directory lookup in the tenant registry, eligibility, `approval.decided`, then
 *    `approval.resolved` and the inbox index update).
 *  - Holding cost: with all 1,000 pending, the SQLite files of their AgentRun objects (and
 *    separately the TenantRegistry's) under `<persist>/v3/do/`, per pending approval, against
 *    the same files of runs of a trivial workflow (start → end) that completed; a sample of the
 *    files is copied and broken down by table with SQLite's `dbstat`; and the bytes of the
 *    `approval.*` events as exported JSONL.
 *
 * Approval emails go to a local HTTP sink (`EMAIL_TRANSPORT=http`), which counts them: one per
 * approver per approval. Writes bench/results/approvals.json and the `## approvals` section of
 * bench/RESULTS.md.
 *
 * Run alone: `node bench/approvals.ts` (Node 22 strips the types; use node_modules/.bin/node).
 * Options: --quick (small counts, a smoke test; writes nothing), --profile (CPU-profile workerd
 * during the 50-in-flight decisions and print the hottest functions), --no-write.
 * Everything listens on 127.0.0.1; counts are fixed and every wait has a deadline.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { mintToken } from "../src/auth/tokens.ts";
import { guardBench, runBench, writeBenchResults } from "./support/bench-run.ts";
import { openProfiler, summarizeProfile, type CdpProfile } from "./support/profile.ts";
import { cpuSnapshot, freePort, gitState, median, pct, r2, r3, sleep, wranglerProcesses } from "./support/stats.ts";
import { startWranglerDev, stopAllWranglerDev, type WranglerDev } from "./support/wrangler.ts";
import { auditVars, startBenchSqld, stopBenchServers } from "./support/worker-with-audit.ts";

const root = join(import.meta.dirname, "..");
const t00 = performance.now();
const log = (msg: string) => console.log(`[${((performance.now() - t00) / 1000).toFixed(1).padStart(5)} s] ${msg}`);
const argv = new Set(process.argv.slice(2));
const QUICK = argv.has("--quick");
const PROFILE = argv.has("--profile");
const WRITE = !argv.has("--no-write") && !QUICK;

const PENDING = QUICK ? 100 : 1000; // runs parked on an approval at once, decided CONCURRENCY in flight
const BASELINE = QUICK ? 100 : 300; // paused runs resumed CONCURRENCY in flight
const SEQUENTIAL = QUICK ? 10 : 50; // extra runs of each kind decided / resumed one at a time
const TRIVIAL = QUICK ? 50 : 100; // completed start → end runs: the storage floor of a run object
const CONCURRENCY = 50;
/** decisions (and baseline resumes) sent at a fixed rate, whatever the answers: the latency the target is about, below saturation */
const OPEN_RATE = 20;
const OPEN_APPROVALS = QUICK ? 40 : 400; // of the PENDING runs; the rest are decided CONCURRENCY in flight (capacity)
const OPEN_BASELINE = QUICK ? 40 : 120; // of the BASELINE runs
const WAIT_FOR = "20s"; // the baseline's wait node; the timer fires while the run is paused (a pause under load can take seconds)
const EVICT_WAIT_MS = 45_000; // at most this long for workerd to evict the idle pending objects, after the baseline's setup
const EVENT_SAMPLE = QUICK ? 50 : 300; // logs exported (per kind, at 50 in flight) for the event-clock view
const SAMPLE_FILES = QUICK ? 20 : 100; // objects copied and broken down with dbstat
const STEP_DEADLINE_MS = 30_000; // one decision → ping, one start, one resume
const PHASE_DEADLINE_MS = 90_000; // all runs reaching a state
const BENCH_DEADLINE_MS = 6 * 60_000;
const TENANT = "bench";
const APPROVER = "ann@bench.test";

const benchTimer = guardBench("approvals", BENCH_DEADLINE_MS, cleanup);

// ---------- the local tool server and mail sink ----------

/** performance.now() when each run's ping arrived (the request's headers), and how many each run sent. */
const pingAt = new Map<string, number>();
const pingCount = new Map<string, number>();
const pingWaiters = new Map<string, (t: number) => void>();
let pings = 0;
const mails: Array<{ to: string; messageId: string }> = [];
const mailWaiters: Array<() => void> = [];

function startSideServer(): Promise<{ server: Server; url: string }> {
  const server = createHttpServer((req, res) => {
    const arrived = performance.now();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const key = String(req.headers["idempotency-key"] ?? "");
      if (req.url === "/ping") {
        pings++;
        const runId = key.slice(0, key.indexOf("/"));
        pingCount.set(runId, (pingCount.get(runId) ?? 0) + 1);
        if (!pingAt.has(runId)) pingAt.set(runId, arrived);
        pingWaiters.get(runId)?.(arrived);
      } else if (req.url === "/mail") {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { to: string[] };
        mails.push({ to: body.to.join(","), messageId: key });
        for (const w of mailWaiters.splice(0)) w();
      }
      const out = JSON.stringify({ ok: true });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
      res.end(out);
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })));
}

function waitForPing(runId: string, deadlineMs: number): Promise<number> {
  const seen = pingAt.get(runId);
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pingWaiters.delete(runId);
      reject(new Error(`run ${runId}: no ping within ${deadlineMs} ms`));
    }, deadlineMs);
    pingWaiters.set(runId, (t) => {
      clearTimeout(timer);
      pingWaiters.delete(runId);
      resolve(t);
    });
  });
}

async function waitForMails(n: number, deadlineMs: number): Promise<void> {
  const until = performance.now() + deadlineMs;
  while (mails.length < n) {
    const left = until - performance.now();
    if (left <= 0) throw new Error(`only ${mails.length} of ${n} approval emails arrived within ${deadlineMs} ms`);
    await new Promise<void>((r) => {
      const t = setTimeout(r, Math.min(left, 1000));
      mailWaiters.push(() => (clearTimeout(t), r()));
    });
  }
}

// ---------- the API ----------

let dev: WranglerDev | null = null;
let side: Server | null = null;
let base = "";
let adminH: Record<string, string> = {};
let approverH: Record<string, string> = {};

async function cleanup(): Promise<void> {
  await stopBenchServers();
  side?.close();
  side?.closeAllConnections();
}

async function api<T>(method: string, path: string, h: Record<string, string>, body?: unknown, want: number[] = [200]): Promise<T> {
  const res = await fetch(`${base}${path}`, { method, headers: h, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(STEP_DEADLINE_MS) });
  const text = await res.text();
  if (!want.includes(res.status)) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : null) as T;
}

interface Summary {
  id: string;
  status: string;
  seq: number;
  waiting: null | { reason: string; approvalId?: string };
  error: unknown;
}

async function pool<T>(items: T[], concurrency: number, fn: (x: T, i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(items.length, concurrency) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
  return performance.now() - t;
}

async function startRuns(workflow: string, n: number, tag: string): Promise<string[]> {
  const ids: string[] = new Array(n);
  await pool(
    Array.from({ length: n }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      ids[i] = (await api<{ id: string }>("POST", "/v1/runs", adminH, { workflow, input: { n: `${tag}-${i}` } }, [201])).id;
    },
  );
  return ids;
}

/** Polls each run (50 at a time) until `ok(summary)`; fails on a final status or after the deadline. */
async function awaitAll(ids: string[], what: string, ok: (s: Summary) => boolean): Promise<Map<string, Summary>> {
  const out = new Map<string, Summary>();
  const until = performance.now() + PHASE_DEADLINE_MS;
  await pool(ids, CONCURRENCY, async (id) => {
    for (let i = 0; ; i++) {
      const s = await api<Summary>("GET", `/v1/runs/${id}`, adminH);
      if (ok(s)) return void out.set(id, s);
      if (["failed", "halted", "needs_attention"].includes(s.status)) throw new Error(`run ${id} is ${s.status} while waiting for it to be ${what}: ${JSON.stringify(s.error)}`);
      if (performance.now() > until) throw new Error(`run ${id} was not ${what} within ${PHASE_DEADLINE_MS} ms: ${JSON.stringify(s)}`);
      await sleep(i < 10 ? 20 : 200);
    }
  });
  return out;
}

async function exportEvents(id: string): Promise<string[]> {
  const res = await fetch(`${base}/v1/runs/${id}/events`, { headers: adminH, signal: AbortSignal.timeout(STEP_DEADLINE_MS) });
  if (!res.ok) throw new Error(`GET /v1/runs/${id}/events answered ${res.status}`);
  return (await res.text()).trim().split("\n");
}

interface Ev {
  seq: number;
  type: string;
  at: number;
  data: Record<string, unknown>;
}

// ---------- the workflows ----------

function workflows(sideUrl: string) {
  const ping = { kind: "http", method: "POST", url: `${sideUrl}/ping` };
  return [
    {
      id: "bench-approval",
      version: 1,
      description: "Benchmark: an approval, then one tool call",
      start: "review",
      nodes: {
        review: { kind: "approval", approvers: { roles: ["reviewer"], quorum: 1 }, context: "bench {{input.n}}", onApprove: "after", onReject: "done" },
        after: { kind: "tool", tool: "ping", args: { n: "{{input.n}}" }, next: "done" },
        done: { kind: "end" },
      },
      tools: { ping },
    },
    {
      id: "bench-resume",
      version: 1,
      description: "Benchmark baseline: a short wait (paused across it), then the same tool call",
      start: "hold",
      nodes: {
        hold: { kind: "wait", for: WAIT_FOR, next: "after" },
        after: { kind: "tool", tool: "ping", args: { n: "{{input.n}}" }, next: "done" },
        done: { kind: "end" },
      },
      tools: { ping },
    },
    { id: "bench-trivial", version: 1, description: "Benchmark storage floor: start → end", start: "done", nodes: { done: { kind: "end" } } },
  ];
}

// ---------- storage: the Durable Objects' SQLite files ----------

interface ObjectFiles {
  key: string; // the object's file name without -wal / -shm
  files: string[];
  bytes: number; // all of its files
  mainBytes: number; // the database file alone
  walBytes: number;
  shmBytes: number; // the WAL index (shared memory), not durable data
}

/** Every object of a class under <persist>/v3/do/<script>-<Class>/: its files and their sizes now. */
function objectsOf(className: string): Map<string, ObjectFiles> {
  const doRoot = join(dev!.persistDir, "v3", "do");
  const out = new Map<string, ObjectFiles>();
  if (!existsSync(doRoot)) return out;
  for (const d of readdirSync(doRoot)) {
    if (!d.endsWith(`-${className}`)) continue;
    for (const f of readdirSync(join(doRoot, d))) {
      const key = f.replace(/-(wal|shm|journal)$/, "");
      let size = 0;
      try {
        size = statSync(join(doRoot, d, f)).size;
      } catch {
        continue; // removed meanwhile (a checkpointed WAL)
      }
      const o = out.get(key) ?? { key, files: [], bytes: 0, mainBytes: 0, walBytes: 0, shmBytes: 0 };
      o.files.push(join(doRoot, d, f));
      o.bytes += size;
      if (f === key) o.mainBytes += size;
      if (f.endsWith("-wal")) o.walBytes += size;
      if (f.endsWith("-shm")) o.shmBytes += size;
      out.set(key, o);
    }
  }
  return out;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function groupBytes(objs: ObjectFiles[]) {
  return { objects: objs.length, bytes: sum(objs.map((o) => o.bytes)), main: sum(objs.map((o) => o.mainBytes)), wal: sum(objs.map((o) => o.walBytes)), shm: sum(objs.map((o) => o.shmBytes)), fileCount: sum(objs.map((o) => o.files.length)) };
}

/** Waits until the total size of the persisted files stops changing for 1.5 s (outbox deliveries, index updates), at most 20 s. */
async function settleFiles(): Promise<void> {
  const total = () => sum([...objectsOf("AgentRun").values(), ...objectsOf("TenantRegistry").values()].map((o) => o.bytes));
  let last = total();
  let stableSince = performance.now();
  const until = performance.now() + 20_000;
  while (performance.now() < until) {
    await sleep(250);
    const now = total();
    if (now !== last) ((last = now), (stableSince = performance.now()));
    else if (performance.now() - stableSince >= 1500) return;
  }
  console.warn("storage: the files were still changing after 20 s; measuring anyway");
}

interface TableBreakdown {
  pages: Record<string, number>; // bytes of pages per table/index (dbstat pgsize)
  payload: Record<string, number>; // bytes of row payload per table/index (dbstat payload)
  pageSize: number;
  pageCount: number;
  freePages: number;
}

function copyIfThere(from: string, to: string): boolean {
  try {
    copyFileSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** Copies the sample's files (main + WAL) to a temp dir and reads them with node:sqlite; opening the copy applies its WAL. */
async function breakdown(objs: ObjectFiles[]): Promise<TableBreakdown & { n: number }> {
  const { DatabaseSync } = await import("node:sqlite");
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-dbstat-"));
  const acc: TableBreakdown & { n: number } = { pages: {}, payload: {}, pageSize: 0, pageCount: 0, freePages: 0, n: 0 };
  try {
    for (const o of objs) {
      // the object's files now (an object evicted meanwhile has checkpointed and removed its WAL)
      const src = join(dirname(o.files[0]), o.key);
      const main = join(dir, `${acc.n}.sqlite`);
      if (!copyIfThere(src, main)) continue;
      copyIfThere(`${src}-wal`, `${main}-wal`);
      const db = new DatabaseSync(main);
      try {
        for (const r of db.prepare("SELECT name, SUM(pgsize) AS pg, SUM(payload) AS pl FROM dbstat GROUP BY name").all() as Array<{ name: string; pg: number; pl: number }>) {
          acc.pages[r.name] = (acc.pages[r.name] ?? 0) + r.pg;
          acc.payload[r.name] = (acc.payload[r.name] ?? 0) + r.pl;
        }
        acc.pageSize = (db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size;
        acc.pageCount += (db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count;
        acc.freePages += (db.prepare("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count;
      } finally {
        db.close();
      }
      acc.n++;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return acc;
}

// ---------- measuring a resume ----------

interface Resume {
  id: string;
  totalMs: number; // request sent → the run's ping arrived (the headline)
  answerMs: number; // request sent → its answer arrived
}

async function timeResume(id: string, send: () => Promise<Response>): Promise<Resume> {
  if (pingAt.has(id)) throw new Error(`run ${id} pinged before it was resumed`);
  const pinged = waitForPing(id, STEP_DEADLINE_MS);
  pinged.catch(() => {}); // a failed request reports first
  const t0 = performance.now();
  const res = await send();
  const answered = performance.now();
  const text = await res.text();
  if (res.status !== 200) throw new Error(`resuming ${id}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  const t = await pinged;
  return { id, totalMs: t - t0, answerMs: answered - t0 };
}

const decide = (approvalId: string) => () => fetch(`${base}/v1/approvals/${approvalId}/decision`, { method: "POST", headers: approverH, body: JSON.stringify({ decision: "approve" }), signal: AbortSignal.timeout(STEP_DEADLINE_MS) });
const resume = (runId: string) => () => fetch(`${base}/v1/runs/${runId}/resume`, { method: "POST", headers: adminH, body: "{}", signal: AbortSignal.timeout(STEP_DEADLINE_MS) });

async function resumeAll(items: Array<{ id: string; send: () => Promise<Response> }>, concurrency: number): Promise<{ results: Resume[]; elapsedMs: number }> {
  const results: Resume[] = [];
  const elapsedMs = await pool(items, concurrency, async (x) => void results.push(await timeResume(x.id, x.send)));
  return { results, elapsedMs };
}

/** Open loop: the i-th request is sent at i / ratePerS seconds, whether or not the earlier ones have been answered (no coordinated omission). */
async function resumeAtRate(items: Array<{ id: string; send: () => Promise<Response> }>, ratePerS: number): Promise<{ results: Resume[]; elapsedMs: number }> {
  const results: Resume[] = [];
  const t0 = performance.now();
  await Promise.all(
    items.map(async (x, i) => {
      const wait = t0 + (i * 1000) / ratePerS - performance.now();
      if (wait > 0) await sleep(wait);
      results.push(await timeResume(x.id, x.send));
    }),
  );
  return { results, elapsedMs: performance.now() - t0 };
}

/** The run's own clock: from the resuming event (`approval.decided` / `run.resumed`) to the `node.started` of `after`. */
function eventClock(lines: string[], from: string): { gapMs: number; bytes: Record<string, number> } {
  const evs = lines.map((l) => JSON.parse(l) as Ev);
  const a = evs.find((e) => e.type === from);
  const b = evs.find((e) => e.type === "node.started" && e.data.node === "after");
  if (!a || !b) throw new Error(`log without ${from} / node.started(after)`);
  const bytes: Record<string, number> = {};
  lines.forEach((l, i) => {
    if (evs[i].type.startsWith("approval.")) bytes[evs[i].type] = (bytes[evs[i].type] ?? 0) + Buffer.byteLength(l) + 1;
  });
  return { gapMs: b.at - a.at, bytes };
}

async function exportAll(ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  await pool(ids, 25, async (id) => void out.set(id, await exportEvents(id)));
  return out;
}

// ---------- main ----------

async function main() {
  const began = performance.now();
  const tree = gitState(root);
  const sideSrv = await startSideServer();
  side = sideSrv.server;
  const port = await freePort();
  const inspectorPort = await freePort();
  const secret = randomBytes(24).toString("hex");
  base = `http://127.0.0.1:${port}`;
  console.log(`starting wrangler dev on ${base} (tool server and mail sink ${sideSrv.url}), on a snapshot of the Worker at ${tree} …`);
  dev = await startWranglerDev({
    root,
    port,
    inspectorPort,
    // the audit trail goes to a sqld of its own, as in every deployment (without one, every object would retry its shipments on its alarm)
    vars: { WARDEN_JWT_SECRET: secret, EMAIL_TRANSPORT: "http", EMAIL_HTTP_URL: `${sideSrv.url}/mail`, PUBLIC_URL: base, ...(await auditVars(await startBenchSqld(), "approvals-bench")) },
  });
  adminH = { authorization: `Bearer ${await mintToken({ sub: "starter", tenant: TENANT, roles: ["admin"] }, secret)}`, "content-type": "application/json" };
  approverH = { authorization: `Bearer ${await mintToken({ sub: APPROVER, tenant: TENANT, roles: ["approver"] }, secret)}`, "content-type": "application/json" };
  await api("PUT", "/v1/directory", adminH, { users: [{ id: APPROVER, email: APPROVER, roles: ["reviewer"] }] }, [200, 201]);
  for (const w of workflows(sideSrv.url)) await api("POST", "/v1/workflows", adminH, w, [200, 201]);

  // warm-up: a few of each kind, decided / resumed, so the first measured ones do not pay for module loading
  {
    const wa = await startRuns("bench-approval", 10, "warm");
    const ws = await awaitAll(wa, "waiting on an approval", (s) => s.waiting?.reason === "approval");
    await waitForMails(10, PHASE_DEADLINE_MS);
    await resumeAll(wa.map((id) => ({ id, send: decide(ws.get(id)!.waiting!.approvalId!) })), 5);
  }

  // 1. the storage floor: trivial runs that completed
  log(`storage floor: ${TRIVIAL} runs of start → end …`);
  const objs0 = objectsOf("AgentRun");
  const trivial = await startRuns("bench-trivial", TRIVIAL, "trivial");
  await awaitAll(trivial, "completed", (s) => s.status === "completed");
  await settleFiles();
  const objsT = objectsOf("AgentRun");
  const trivialObjs = [...objsT.values()].filter((o) => !objs0.has(o.key));

  // 2. the baseline's runs, started now so that their timers fire (while paused) during the next phase
  log(`baseline: starting ${BASELINE} + ${SEQUENTIAL} runs, pausing each on its ${WAIT_FOR} wait node (its timer fires during the next phase) …`);
  const baseIds: string[] = [];
  await pool(
    Array.from({ length: BASELINE + SEQUENTIAL }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      const { id } = await api<{ id: string }>("POST", "/v1/runs", adminH, { workflow: "bench-resume", input: { n: `base-${i}` } }, [201]);
      await api("POST", `/v1/runs/${id}/pause`, adminH, {});
      baseIds[i] = id;
    },
  );
  await settleFiles();
  const objs1 = objectsOf("AgentRun");
  const registry1 = groupBytes([...objectsOf("TenantRegistry").values()]);
  const registryBreak1 = await breakdown([...objectsOf("TenantRegistry").values()]);

  // 3. PENDING runs parked on an approval at once (plus SEQUENTIAL more for the one-at-a-time view)
  log(`approvals: starting ${PENDING} + ${SEQUENTIAL} runs (${CONCURRENCY} concurrent) and waiting until every one is waiting on its approval …`);
  const mails0 = mails.length;
  let t = performance.now();
  const pending = await startRuns("bench-approval", PENDING, "load");
  const startMs = performance.now() - t;
  const seqApprovals = await startRuns("bench-approval", SEQUENTIAL, "seq");
  await waitForMails(mails0 + PENDING + SEQUENTIAL, PHASE_DEADLINE_MS);
  const waitingSummaries = await awaitAll([...pending, ...seqApprovals], "waiting on an approval", (s) => s.status === "waiting" && s.waiting?.reason === "approval" && !!s.waiting.approvalId);
  const approvalOf = (id: string) => waitingSummaries.get(id)!.waiting!.approvalId!;
  // at once, while the objects are open (waiting for the files to settle would wait through their evictions)
  const objs2 = objectsOf("AgentRun");
  const pendingObjs = [...objs2.values()].filter((o) => !objs1.has(o.key));
  await settleFiles();
  const registry2 = groupBytes([...objectsOf("TenantRegistry").values()]);
  const registryBreak2 = await breakdown([...objectsOf("TenantRegistry").values()]);
  const pendingMails = mails.slice(mails0);
  const mailIds = new Set(pendingMails.map((m) => m.messageId));
  const mailsOk = pendingMails.length === PENDING + SEQUENTIAL && mailIds.size === pendingMails.length && pendingMails.every((m) => m.to === APPROVER);
  // the bytes of the approval events while pending, from a sample's exported logs
  const sampleIds = pending.slice(0, SAMPLE_FILES);
  const pendingLogs = await exportAll(sampleIds);
  const pendingEventBytes: Record<string, number[]> = {};
  const pendingLogBytes: number[] = [];
  for (const lines of pendingLogs.values()) {
    pendingLogBytes.push(sum(lines.map((l) => Buffer.byteLength(l) + 1)));
    const evs = lines.map((l) => JSON.parse(l) as Ev);
    lines.forEach((l, i) => {
      if (evs[i].type.startsWith("approval.")) (pendingEventBytes[evs[i].type] ??= []).push(Buffer.byteLength(l) + 1);
    });
  }
  const [pendingBreak, trivialBreak] = [await breakdown(pendingObjs.slice(0, SAMPLE_FILES)), await breakdown(trivialObjs.slice(0, SAMPLE_FILES))];
  // From here the pending objects get no requests until they are decided: watch workerd evict them
  // (an evicted object's SQLite checkpoints its WAL into the database file and removes the WAL).
  const pendingKeys = new Set(pendingObjs.map((o) => o.key));
  const evictionT0 = performance.now();
  const evictions: Array<{ s: number; open: number; bytes: number }> = [];
  const sampleEviction = () => {
    const now = [...objectsOf("AgentRun").values()].filter((o) => pendingKeys.has(o.key));
    evictions.push({ s: r2((performance.now() - evictionT0) / 1000), open: now.filter((o) => o.walBytes > 0 || o.shmBytes > 0).length, bytes: sum(now.map((o) => o.bytes)) });
  };
  sampleEviction();
  const sampler = setInterval(sampleEviction, 1000);
  sampler.unref();

  const baseLoad = baseIds.slice(0, BASELINE);
  const baseSeq = baseIds.slice(BASELINE);
  // run.started, node.started, timer.scheduled, run.paused, timer.fired: seq 5 once the timer fired while paused
  await awaitAll(baseIds, "paused with its timer fired", (s) => s.status === "paused" && s.seq >= 5);
  const early = baseIds.filter((id) => pingAt.has(id));
  if (early.length) throw new Error(`${early.length} paused baseline runs pinged before being resumed`);

  // the holding cost once idle: wait (at most EVICT_WAIT_MS more) until workerd evicted every pending object
  const evictUntil = performance.now() + EVICT_WAIT_MS;
  while (evictions[evictions.length - 1].open > 0 && performance.now() < evictUntil) await sleep(250);
  clearInterval(sampler);
  sampleEviction();
  const objsIdle = objectsOf("AgentRun");
  const idleObjs = [...objsIdle.values()].filter((o) => pendingKeys.has(o.key));
  const trivialIdleObjs = trivialObjs.map((o) => objsIdle.get(o.key)!).filter(Boolean);
  const firstAllEvicted = evictions.find((e) => e.open === 0);
  log(`pending objects still open (with a WAL) over time since they were last touched: ${evictions.filter((_, i) => i % 5 === 0 || i === evictions.length - 1).map((e) => `${e.s}s:${e.open}`).join(" ")}`);

  // 4. resume latency: one at a time, then CONCURRENCY in flight, approvals and baseline alternating phases
  log(`resume latency: ${SEQUENTIAL} one at a time, then ${PENDING} decisions and ${BASELINE} resumes at ${CONCURRENCY} in flight …`);
  const seqA = await resumeAll(seqApprovals.map((id) => ({ id, send: decide(approvalOf(id)) })), 1);
  const seqB = await resumeAll(baseSeq.map((id) => ({ id, send: resume(id) })), 1);
  const procs = wranglerProcesses(dev.child.pid!);
  const prof = PROFILE ? await openProfiler(inspectorPort) : null;
  let cpu0 = cpuSnapshot(procs);
  log(`open loop: ${OPEN_APPROVALS} decisions, then ${OPEN_BASELINE} resumes, sent at ${OPEN_RATE}/s …`);
  const openA = await resumeAtRate(pending.slice(0, OPEN_APPROVALS).map((id) => ({ id, send: decide(approvalOf(id)) })), OPEN_RATE);
  const openB = await resumeAtRate(baseLoad.slice(0, OPEN_BASELINE).map((id) => ({ id, send: resume(id) })), OPEN_RATE);
  const satA = pending.slice(OPEN_APPROVALS);
  const satB = baseLoad.slice(OPEN_BASELINE);
  log(`saturation: ${satA.length} decisions, then ${satB.length} resumes, ${CONCURRENCY} in flight …`);
  const loadA = await resumeAll(satA.map((id) => ({ id, send: decide(approvalOf(id)) })), CONCURRENCY);
  let cpu1 = cpuSnapshot(procs);
  const profile: CdpProfile | null = prof ? await prof.stop() : null;
  const cpuA = new Map([...cpu1].map(([k, v]) => [k, (v - (cpu0.get(k) ?? 0)) / satA.length]));
  cpu0 = cpuSnapshot(procs);
  const loadB = await resumeAll(satB.map((id) => ({ id, send: resume(id) })), CONCURRENCY);
  cpu1 = cpuSnapshot(procs);
  const cpuB = new Map([...cpu1].map(([k, v]) => [k, (v - (cpu0.get(k) ?? 0)) / satB.length]));

  // 5. every run completes, exactly one ping each
  log("checking that every run completed with exactly one ping, exporting the logs …");
  const allResumed = [...pending, ...seqApprovals, ...baseIds];
  await awaitAll(allResumed, "completed", (s) => s.status === "completed");
  await settleFiles();
  const objs3 = objectsOf("AgentRun");
  const decidedObjs = pendingObjs.map((o) => objs3.get(o.key)!).filter(Boolean);
  const measuredRuns = [...pending, ...seqApprovals, ...baseIds];
  const pingsOk = measuredRuns.every((id) => pingCount.get(id) === 1);
  const expectedPings = 10 + PENDING + SEQUENTIAL + BASELINE + SEQUENTIAL; // warm-up included
  t = performance.now();
  // the event-clock view from a sample of the logs (exporting all of them takes longer than the rest)
  const clockSampleA = satA.slice(0, EVENT_SAMPLE);
  const clockSampleB = satB.slice(0, EVENT_SAMPLE);
  const logsA = await exportAll([...clockSampleA, ...seqApprovals]);
  const logsB = await exportAll([...clockSampleB, ...baseSeq]);
  const exportMs = performance.now() - t;
  const clockA = [...clockSampleA, ...seqApprovals].map((id) => eventClock(logsA.get(id)!, "approval.decided"));
  const clockB = [...clockSampleB, ...baseSeq].map((id) => eventClock(logsB.get(id)!, "run.resumed"));
  const clockALoad = clockA.slice(0, clockSampleA.length).map((c) => c.gapMs);
  const clockBLoad = clockB.slice(0, clockSampleB.length).map((c) => c.gapMs);
  const approvalEventBytes: Record<string, number[]> = {};
  for (const c of clockA) for (const [k, v] of Object.entries(c.bytes)) (approvalEventBytes[k] ??= []).push(v);
  const reloads = dev.reloads();
  await stopAllWranglerDev();
  if (reloads) console.warn(`WARNING: wrangler dev reloaded the Worker ${reloads} time(s) during the bench; rerun on a quiet tree`);

  // ---------- report ----------
  const tot = (rs: Resume[]) => rs.map((r) => r.totalMs);
  const ans = (rs: Resume[]) => rs.map((r) => r.answerMs);
  const pend = groupBytes(pendingObjs); // just parked: the objects open, their WALs not checkpointed
  const idle = groupBytes(idleObjs); // idle: evicted by workerd, WAL checkpointed into the database file
  const triv = groupBytes(trivialObjs);
  const trivIdle = groupBytes(trivialIdleObjs);
  const done = groupBytes(decidedObjs);
  const nPending = PENDING + SEQUENTIAL;
  const approvalEventsEach = sum(Object.values(approvalEventBytes).map((v) => median(v)));
  const pendingEventsEach = sum(Object.values(pendingEventBytes).map((v) => median(v)));
  const per = (b: TableBreakdown & { n: number }, k: "pages" | "payload") => Object.fromEntries(Object.entries(b[k]).map(([name, v]) => [name, Math.round(v / b.n)]));
  const m: Record<string, number> = {
    "approvals.resume.p50_ms": r3(pct(tot(openA.results), 50)),
    "approvals.resume.p99_ms": r3(pct(tot(openA.results), 99)),
    "approvals.pending.bytes_each": Math.round(idle.bytes / idle.objects),
    "approvals.pending.bytes_each_while_open": Math.round(pend.bytes / pend.objects),
    "approvals.pending.objects_still_open_when_measured_idle": evictions[evictions.length - 1].open,
    "approvals.pending.seconds_until_all_evicted": firstAllEvicted ? firstAllEvicted.s : NaN,
    "approvals.resume.max_ms": r3(Math.max(...tot(openA.results))),
    "approvals.resume.rate_per_s": OPEN_RATE,
    "approvals.resume.decisions": openA.results.length,
    "approvals.decision_answer_open.p50_ms": r3(pct(ans(openA.results), 50)),
    "approvals.decision_answer_open.p99_ms": r3(pct(ans(openA.results), 99)),
    "approvals.resume_saturated.p50_ms": r3(pct(tot(loadA.results), 50)),
    "approvals.resume_saturated.p99_ms": r3(pct(tot(loadA.results), 99)),
    "approvals.resume_saturated.max_ms": r3(Math.max(...tot(loadA.results))),
    "baseline_resume.resume.p50_ms": r3(pct(tot(openB.results), 50)),
    "baseline_resume.resume.p99_ms": r3(pct(tot(openB.results), 99)),
    "approvals.resume_sequential.p50_ms": r3(pct(tot(seqA.results), 50)),
    "approvals.resume_sequential.p99_ms": r3(pct(tot(seqA.results), 99)),
    "approvals.decision_answer.p50_ms": r3(pct(ans(loadA.results), 50)),
    "approvals.decision_answer.p99_ms": r3(pct(ans(loadA.results), 99)),
    "approvals.decisions_per_s": r2(satA.length / (loadA.elapsedMs / 1000)),
    "baseline_resume.resume_saturated.p50_ms": r3(pct(tot(loadB.results), 50)),
    "baseline_resume.resume_saturated.p99_ms": r3(pct(tot(loadB.results), 99)),
    "baseline_resume.resume_saturated.max_ms": r3(Math.max(...tot(loadB.results))),
    "baseline_resume.resume_sequential.p50_ms": r3(pct(tot(seqB.results), 50)),
    "baseline_resume.resume_sequential.p99_ms": r3(pct(tot(seqB.results), 99)),
    "approvals.decision_answer_sequential.p50_ms": r3(pct(ans(seqA.results), 50)),
    "baseline_resume.answer_sequential.p50_ms": r3(pct(ans(seqB.results), 50)),
    "approvals.resume_event_clock_sequential.p50_ms": pct(clockA.slice(clockSampleA.length).map((c) => c.gapMs), 50),
    "baseline_resume.resume_event_clock_sequential.p50_ms": pct(clockB.slice(clockSampleB.length).map((c) => c.gapMs), 50),
    "baseline_resume.answer.p50_ms": r3(pct(ans(loadB.results), 50)),
    "baseline_resume.answer.p99_ms": r3(pct(ans(loadB.results), 99)),
    "baseline_resume.resumes_per_s": r2(satB.length / (loadB.elapsedMs / 1000)),
    "approvals_vs_baseline.resume_p50_ratio": r2(pct(tot(openA.results), 50) / pct(tot(openB.results), 50)),
    "approvals_vs_baseline.resume_p99_ratio": r2(pct(tot(openA.results), 99) / pct(tot(openB.results), 99)),
    "approvals.resume_event_clock.p50_ms": pct(clockALoad, 50),
    "approvals.resume_event_clock.p99_ms": pct(clockALoad, 99),
    "baseline_resume.resume_event_clock.p50_ms": pct(clockBLoad, 50),
    "baseline_resume.resume_event_clock.p99_ms": pct(clockBLoad, 99),
    "approvals.pending.objects": pend.objects,
    "approvals.pending.main_file_bytes_each": Math.round(pend.main / pend.objects),
    "approvals.pending.wal_bytes_each": Math.round(pend.wal / pend.objects),
    "approvals.pending.shm_bytes_each": Math.round(pend.shm / pend.objects),
    "approvals.pending.checkpointed_bytes_each": Math.round((pendingBreak.pageCount / pendingBreak.n) * pendingBreak.pageSize),
    "trivial_completed.checkpointed_bytes_each": Math.round((trivialBreak.pageCount / trivialBreak.n) * trivialBreak.pageSize),
    "approvals.pending.files_each": r2(pend.fileCount / pend.objects),
    "approvals.pending.sqlite_pages_each": r2(pendingBreak.pageCount / pendingBreak.n),
    "approvals.pending.sqlite_free_pages_each": r2(pendingBreak.freePages / pendingBreak.n),
    "approvals.pending.row_payload_bytes_each": Math.round(sum(Object.values(pendingBreak.payload)) / pendingBreak.n),
    "approvals.pending.events_payload_bytes_each": Math.round((pendingBreak.payload.events ?? 0) / pendingBreak.n),
    "approvals.pending.log_jsonl_bytes_each": Math.round(median(pendingLogBytes)),
    "approvals.pending.approval_events_jsonl_bytes_each": Math.round(pendingEventsEach),
    "approvals.completed.approval_events_jsonl_bytes_each": Math.round(approvalEventsEach),
    "approvals.completed.bytes_each": Math.round(done.bytes / done.objects),
    "trivial_completed.bytes_each": Math.round(triv.bytes / triv.objects),
    "trivial_completed.main_file_bytes_each": Math.round(triv.main / triv.objects),
    "trivial_completed.wal_bytes_each": Math.round(triv.wal / triv.objects),
    "trivial_completed.sqlite_pages_each": r2(trivialBreak.pageCount / trivialBreak.n),
    "trivial_completed.row_payload_bytes_each": Math.round(sum(Object.values(trivialBreak.payload)) / trivialBreak.n),
    "approvals.pending.bytes_each_over_trivial": Math.round(idle.bytes / idle.objects - trivIdle.bytes / trivIdle.objects),
    "trivial_completed.bytes_each_idle": Math.round(trivIdle.bytes / trivIdle.objects),
    "approvals.pending.registry_bytes_each": Math.round(((registryBreak2.pageCount - registryBreak1.pageCount) * registryBreak2.pageSize) / nPending),
    "approvals.pending.objects_open_when_parked": pendingObjs.filter((o) => o.walBytes > 0 || o.shmBytes > 0).length,
    "registry.bytes_total_with_pending": registry2.bytes,
    "approvals.pending.registry_row_payload_bytes_each": Math.round((sum(Object.values(registryBreak2.payload)) - sum(Object.values(registryBreak1.payload))) / nPending),
    "approvals.start_per_s": r2(PENDING / (startMs / 1000)),
    "approvals.emails": pendingMails.length,
    "approvals.worker_cpu_ms_per_decision": r2(cpuA.get("workerd (the Worker and its Durable Objects)") ?? NaN),
    "baseline_resume.worker_cpu_ms_per_resume": r2(cpuB.get("workerd (the Worker and its Durable Objects)") ?? NaN),
    "approvals.total_cpu_ms_per_decision": r2(sum([...cpuA.values()])),
    "baseline_resume.total_cpu_ms_per_resume": r2(sum([...cpuB.values()])),
  };
  const checks = [
    [`every run completed (${measuredRuns.length} measured)`, true],
    [`exactly one ping per measured run, ${expectedPings} in all (warm-up included)`, pingsOk && pings === expectedPings],
    [`one email per approver per approval (${pendingMails.length} for ${nPending}, distinct Message-IDs)`, mailsOk],
  ] as const;
  const target = m["approvals.resume.p99_ms"] <= 100;

  const table = {
    [`p50 ms, sent → next side effect (${OPEN_RATE}/s, open loop)`]: { approval: m["approvals.resume.p50_ms"], "resume baseline": m["baseline_resume.resume.p50_ms"] },
    [`p99 ms, sent → next side effect (${OPEN_RATE}/s, open loop)`]: { approval: m["approvals.resume.p99_ms"], "resume baseline": m["baseline_resume.resume.p99_ms"] },
    [`max ms (${OPEN_RATE}/s)`]: { approval: m["approvals.resume.max_ms"], "resume baseline": NaN },
    [`p50 ms, sent → HTTP answer (${OPEN_RATE}/s)`]: { approval: m["approvals.decision_answer_open.p50_ms"], "resume baseline": NaN },
    "p50 ms, sent → next side effect (50 in flight)": { approval: m["approvals.resume_saturated.p50_ms"], "resume baseline": m["baseline_resume.resume_saturated.p50_ms"] },
    "p99 ms, sent → next side effect (50 in flight)": { approval: m["approvals.resume_saturated.p99_ms"], "resume baseline": m["baseline_resume.resume_saturated.p99_ms"] },
    "max ms (50 in flight)": { approval: m["approvals.resume_saturated.max_ms"], "resume baseline": m["baseline_resume.resume_saturated.max_ms"] },
    "p50 ms, one at a time": { approval: m["approvals.resume_sequential.p50_ms"], "resume baseline": m["baseline_resume.resume_sequential.p50_ms"] },
    "p99 ms, one at a time": { approval: m["approvals.resume_sequential.p99_ms"], "resume baseline": m["baseline_resume.resume_sequential.p99_ms"] },
    "p50 ms, sent → HTTP answer (one at a time)": { approval: m["approvals.decision_answer_sequential.p50_ms"], "resume baseline": m["baseline_resume.answer_sequential.p50_ms"] },
    "event clock p50 ms (one at a time)": { approval: m["approvals.resume_event_clock_sequential.p50_ms"], "resume baseline": m["baseline_resume.resume_event_clock_sequential.p50_ms"] },
    "p50 ms, sent → HTTP answer (50 in flight)": { approval: m["approvals.decision_answer.p50_ms"], "resume baseline": m["baseline_resume.answer.p50_ms"] },
    "p99 ms, sent → HTTP answer (50 in flight)": { approval: m["approvals.decision_answer.p99_ms"], "resume baseline": m["baseline_resume.answer.p99_ms"] },
    "event clock p50 ms (resuming event → node.started)": { approval: m["approvals.resume_event_clock.p50_ms"], "resume baseline": m["baseline_resume.resume_event_clock.p50_ms"] },
    "event clock p99 ms": { approval: m["approvals.resume_event_clock.p99_ms"], "resume baseline": m["baseline_resume.resume_event_clock.p99_ms"] },
    "per second (50 in flight)": { approval: m["approvals.decisions_per_s"], "resume baseline": m["baseline_resume.resumes_per_s"] },
    "workerd CPU ms each": { approval: m["approvals.worker_cpu_ms_per_decision"], "resume baseline": m["baseline_resume.worker_cpu_ms_per_resume"] },
  };
  const storage = {
    "AgentRun files per object, idle (evicted, WAL checkpointed)": { "pending approval": m["approvals.pending.bytes_each"], "same run, completed": done.wal + done.shm === 0 ? m["approvals.completed.bytes_each"] : NaN, "trivial run, completed": m["trivial_completed.bytes_each_idle"] },
    "AgentRun files per object, open (just written)": { "pending approval": m["approvals.pending.bytes_each_while_open"], "same run, completed": done.wal + done.shm === 0 ? NaN : m["approvals.completed.bytes_each"], "trivial run, completed": m["trivial_completed.bytes_each"] },
    "  of which the database file": { "pending approval": m["approvals.pending.main_file_bytes_each"], "same run, completed": Math.round(done.main / done.objects), "trivial run, completed": m["trivial_completed.main_file_bytes_each"] },
    "  of which the WAL": { "pending approval": m["approvals.pending.wal_bytes_each"], "same run, completed": Math.round(done.wal / done.objects), "trivial run, completed": m["trivial_completed.wal_bytes_each"] },
    "  of which the WAL index (-shm)": { "pending approval": m["approvals.pending.shm_bytes_each"], "same run, completed": Math.round(done.shm / done.objects), "trivial run, completed": Math.round(triv.shm / triv.objects) },
    "SQLite pages (4 KiB) after the WAL, sample": { "pending approval": m["approvals.pending.sqlite_pages_each"], "same run, completed": NaN, "trivial run, completed": m["trivial_completed.sqlite_pages_each"] },
    "database bytes once checkpointed (pages × 4 KiB), sample": { "pending approval": m["approvals.pending.checkpointed_bytes_each"], "same run, completed": NaN, "trivial run, completed": m["trivial_completed.checkpointed_bytes_each"] },
    "row payload bytes (all tables), sample": { "pending approval": m["approvals.pending.row_payload_bytes_each"], "same run, completed": NaN, "trivial run, completed": m["trivial_completed.row_payload_bytes_each"] },
  };

  console.log(`\napprovals benchmark: ${PENDING} runs waiting on an approval at once, decided ${CONCURRENCY} in flight (+${SEQUENTIAL} one at a time); baseline: ${BASELINE} (+${SEQUENTIAL}) runs paused on a wait node, resumed with POST /v1/runs/:id/resume; local workerd via wrangler dev`);
  console.table(table);
  console.log(`approval / baseline: p50 ${m["approvals_vs_baseline.resume_p50_ratio"]}×, p99 ${m["approvals_vs_baseline.resume_p99_ratio"]}×`);
  console.log(`  ${target ? "MET   " : "MISSED"} resume p99 ≤ 100 ms (local workerd): ${m["approvals.resume.p99_ms"]} ms`);
  console.log(`\nholding cost: ${pend.objects} pending AgentRun objects, ${pend.fileCount} files, ${pend.bytes} bytes (${pend.main} database files + ${pend.wal} WAL + ${pend.shm} WAL index); TenantRegistry ${registry1.bytes} → ${registry2.bytes} bytes of files, ${registryBreak1.pageCount} → ${registryBreak2.pageCount} pages once checkpointed`);
  console.table(storage);
  console.log(`per pending approval: ${m["approvals.pending.bytes_each"]} bytes of AgentRun files (${m["approvals.pending.bytes_each_over_trivial"]} over a completed trivial run), ${m["approvals.pending.registry_bytes_each"]} bytes of TenantRegistry growth (pages once checkpointed); the log ${m["approvals.pending.log_jsonl_bytes_each"]} bytes as JSONL, of which approval.* ${m["approvals.pending.approval_events_jsonl_bytes_each"]} (pending) / ${m["approvals.completed.approval_events_jsonl_bytes_each"]} (completed)`);
  console.log(`table pages per object, pending sample (bytes): ${JSON.stringify(per(pendingBreak, "pages"))}`);
  console.log(`row payload per object, pending sample (bytes): ${JSON.stringify(per(pendingBreak, "payload"))}`);
  console.log(`table pages per object, trivial sample (bytes): ${JSON.stringify(per(trivialBreak, "pages"))}`);
  for (const [c, okay] of checks) console.log(`  ${okay ? "ok    " : "FAILED"} ${c}`);
  const cpuRows: Record<string, { "CPU ms per decision": number; "CPU ms per resume": number }> = {};
  for (const [k, v] of cpuA) cpuRows[k] = { "CPU ms per decision": r2(v), "CPU ms per resume": r2(cpuB.get(k) ?? NaN) };
  console.log(`\nwhere the CPU goes at ${CONCURRENCY} in flight (2 cores; all of a Worker's Durable Objects share one isolate thread in workerd):`);
  console.table(cpuRows);
  const sp = profile ? summarizeProfile(profile) : null;
  if (profile && sp) {
    const path = join(tmpdir(), `warden-approvals-${Date.now()}.cpuprofile`);
    writeFileSync(path, JSON.stringify(profile));
    const each = (ms: number) => (ms / PENDING).toFixed(2).padStart(6);
    console.log(`\nworkerd CPU profile (the Worker's isolate thread) of the ${PENDING} decisions at ${CONCURRENCY} in flight: ${path}`);
    console.log(`  ${sp.totalMs.toFixed(0)} ms sampled, ${sp.idleMs.toFixed(0)} ms idle; ms per decision, inclusive:`);
    for (const [k, v] of sp.inclusive) console.log(`  ${each(v)}  ${((v / sp.totalMs) * 100).toFixed(1).padStart(5)}%  ${k}`);
    console.log(`  ms per decision, self:`);
    for (const [k, v] of sp.self) console.log(`  ${each(v)}  ${((v / sp.totalMs) * 100).toFixed(1).padStart(5)}%  ${k}`);
  }
  const seconds = (performance.now() - began) / 1000;
  console.log(`\ndone in ${seconds.toFixed(0)} s (${pings} pings, ${mails.length} emails; event export ${(exportMs / 1000).toFixed(1)} s)`);
  if (checks.some(([, okay]) => !okay)) throw new Error("a sanity check failed; results not written");

  if (WRITE) {
    const date = new Date().toISOString();
    writeResultsSection(m, table, storage, { date, tree, seconds, target, pendingBreak: per(pendingBreak, "pages"), pendingPayload: per(pendingBreak, "payload"), trivialBreak: per(trivialBreak, "pages"), registry1: registry1.bytes, registry2: registry2.bytes, pend, checks });
  }
}

function mdTable(rows: Record<string, Record<string, number>>): string {
  const cols = Object.keys(Object.values(rows)[0]);
  return [`| | ${cols.join(" | ")} |`, `| --- |${cols.map(() => " --- |").join("")}`, ...Object.entries(rows).map(([k, v]) => `| ${k.trim()} | ${cols.map((c) => (Number.isNaN(v[c]) ? "–" : v[c])).join(" | ")} |`)].join("\n");
}

function writeResultsSection(
  m: Record<string, number>,
  table: Record<string, Record<string, number>>,
  storage: Record<string, Record<string, number>>,
  x: { date: string; tree: string; seconds: number; target: boolean; pendingBreak: Record<string, number>; pendingPayload: Record<string, number>; trivialBreak: Record<string, number>; registry1: number; registry2: number; pend: ReturnType<typeof groupBytes>; checks: ReadonlyArray<readonly [string, boolean]> },
): void {
  const kv = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ");
  const section = `## approvals

\`node bench/approvals.ts\` (${x.date.slice(0, 10)}, tree ${x.tree}, ${x.seconds.toFixed(0)} s, 2-core noisy machine): ${PENDING} runs parked on an \`approval\` node at once in local workerd
(\`wrangler dev --persist-to\`, one Durable Object per run, the audit trail shipped to a sqld of its own), then decided through \`POST /v1/approvals/:id/decision\`: ${SEQUENTIAL} more one at a time, then ${OPEN_APPROVALS} of the ${PENDING}
**open loop at ${OPEN_RATE} decisions/s** (each sent on its schedule whether or not the earlier ones were answered, so a slow answer cannot hide the ones queued behind it) and the other ${PENDING - OPEN_APPROVALS} with ${CONCURRENCY} in flight and no pause
(saturation: it measures capacity and the queueing it causes, not the latency a person deciding sees).
Workflow: \`review\` (approval, role \`reviewer\`, quorum 1) → \`after\` (an http tool \`ping\` to a local server on 127.0.0.1) → \`done\`. Runs are started by \`starter\` (admin) and approved by \`${APPROVER}\` (approver; separation of duties on).
Emails go to a local HTTP sink (\`EMAIL_TRANSPORT=http\`): ${m["approvals.emails"]} for ${PENDING + SEQUENTIAL} approvals.

**Resume latency** = from sending the decision to the tool server receiving that run's \`ping\` (the run's next side effect), both on the bench's clock.
**Baseline**, same invocation, same load models (${OPEN_BASELINE} open loop, ${BASELINE - OPEN_BASELINE} at ${CONCURRENCY} in flight, ${SEQUENTIAL} one at a time): \`POST /v1/runs/:id/resume\` of a run paused on a \`wait ${WAIT_FOR}\` node whose timer already fired while it was paused, so its next side effect is the same \`ping\`.
Both requests end in the same way inside the run's object (append an event, return; once it is durable the run continues in the background), so the difference is what the approval path adds:
a directory lookup in the tenant's registry before the run's object is called, the eligibility check, \`approval.decided\` and then \`approval.resolved\` + \`node.completed\` and an inbox-index update through the outbox. (The resume request, for its part, delivers the run's index update before answering.)

${mdTable(table)}

Approval / baseline (open loop): p50 ${m["approvals_vs_baseline.resume_p50_ratio"]}×, p99 ${m["approvals_vs_baseline.resume_p99_ratio"]}×. Target resume p99 ≤ 100 ms in local workerd, at ${OPEN_RATE} decisions/s (${Math.round((100 * OPEN_RATE) / m["approvals.decisions_per_s"])}% of the capacity measured below): ${x.target ? "**met**" : "**missed**"} (${m["approvals.resume.p99_ms"]} ms over ${m["approvals.resume.decisions"]} decisions).
At saturation (${CONCURRENCY} in flight) the latency is queueing. Decisions complete at ${m["approvals.decisions_per_s"]}/s, so by Little's law each spends ${CONCURRENCY} / ${m["approvals.decisions_per_s"]} s = ${Math.round((CONCURRENCY / m["approvals.decisions_per_s"]) * 1000)} ms in the system, which is the saturated p50 above (${m["approvals.resume_saturated.p50_ms"]} ms); the HTTP answer alone already takes p50 ${m["approvals.decision_answer.p50_ms"]} ms.
Each decision costs ${m["approvals.worker_cpu_ms_per_decision"]} ms of CPU in the workerd that runs the Worker and every Durable Object on one isolate thread (the plain resume ${m["baseline_resume.worker_cpu_ms_per_resume"]} ms), and ${m["approvals.total_cpu_ms_per_decision"]} ms across all processes (wrangler's proxy workerd, wrangler, the bench client) on a 2-core machine that other work shared during the run.
One at a time the same path takes p50 ${m["approvals.resume_sequential.p50_ms"]} ms (the HTTP answer ${m["approvals.decision_answer_sequential.p50_ms"]} ms of it; the run continues while the answer travels back).
A p99 of 100 ms with ${CONCURRENCY} decisions always in flight would need about ${Math.round(CONCURRENCY / 0.1)} decisions/s, i.e. roughly ${r2(1000 / (CONCURRENCY / 0.1))} ms of isolate CPU per decision instead of ${m["approvals.worker_cpu_ms_per_decision"]}: the cost is the request path (auth, the directory lookup in the tenant's registry, the run's transaction) and the resumed turn (\`approval.resolved\` + \`node.completed\` + \`tool.started\`, the fetch, \`tool.completed\`, the end, and the outbox's index updates to the one TenantRegistry), not the approval wait itself.

The event-clock rows (from ${EVENT_SAMPLE} exported logs of each kind at ${CONCURRENCY} in flight, and all the one-at-a-time ones) are the run's own view (\`approval.decided\` / \`run.resumed\` \`at\` → the next \`node.started\` \`at\`); workerd's clock only advances across I/O, and both events are written in the same request and alarm as what surrounds them, so it mostly shows the gap between the request's turn and the alarm's turn, in whole milliseconds; it cannot see the HTTP hops before the object or the outbound fetch after it.

**Holding cost**: the SQLite files of the AgentRun objects under \`<persist>/v3/do/warden-AgentRun/\` (each object a database file, plus a WAL and its index \`-shm\` while the object is open), summed and divided by the number of objects, while all ${PENDING + SEQUENTIAL} approvals were pending, twice:
*open*, as soon as every run was seen \`waiting\` (the objects in memory, their writes in the WAL, not yet checkpointed; ${m["approvals.pending.objects_open_when_parked"]} of ${x.pend.objects} had a WAL then, the others, parked earliest, were already evicted, so this row is a mix; the trivial column, measured right after those runs completed, shows the open state alone), and *idle*, after the objects had received no request for a while and workerd had evicted them, which checkpoints the WAL into the database file and removes the WAL and \`-shm\` (${m["approvals.pending.objects_still_open_when_measured_idle"]} objects still open when measured; all evicted ${m["approvals.pending.seconds_until_all_evicted"]} s after they were last touched). A run that waits hours or days for a person is in the idle state.

${mdTable(storage)}

- **${m["approvals.pending.bytes_each"]} bytes per pending approval** on disk once idle (${m["approvals.pending.bytes_each_over_trivial"]} more than an idle completed start → end run), ${m["approvals.pending.bytes_each_while_open"]} bytes while its object is open (of which ${m["approvals.pending.wal_bytes_each"]} WAL and ${m["approvals.pending.shm_bytes_each"]} \`-shm\`). SQLite allocates whole 4 KiB pages, at least one per table and index (the run's schema has 5 tables and 3 indexes, workerd adds 2 tables), so the size is set by page granularity, not content: the rows themselves are ${m["approvals.pending.row_payload_bytes_each"]} bytes of payload per pending run (${m["approvals.pending.events_payload_bytes_each"]} of them events), in ${m["approvals.pending.sqlite_pages_each"]} pages (a copy of ${Math.min(SAMPLE_FILES, x.pend.objects)} open objects' files read with \`dbstat\`). The approval's own rows fit in pages the run has anyway, which is why pending and trivial runs have the same page count.
- Pages per object by table, pending (bytes): ${kv(x.pendingBreak)}. Row payload: ${kv(x.pendingPayload)}. Trivial completed run, pages: ${kv(x.trivialBreak)}.
- The pending run's whole log is ${m["approvals.pending.log_jsonl_bytes_each"]} bytes as exported JSONL (including the workflow document in \`run.started\`); its \`approval.*\` events are ${m["approvals.pending.approval_events_jsonl_bytes_each"]} bytes (\`approval.requested\` + \`approval.notified\`), ${m["approvals.completed.approval_events_jsonl_bytes_each"]} bytes once decided and resolved.
- TenantRegistry (one object for the tenant: workflows, directory, the run index and the approvals inbox): ${m["approvals.pending.registry_bytes_each"]} bytes per pending approval, from its page count read with \`dbstat\` on a copy before and after the ${PENDING + SEQUENTIAL} runs and approvals were indexed (its files went ${x.registry1} → ${x.registry2} bytes, which says more about when workerd checkpointed its WAL than about the data), of which ${m["approvals.pending.registry_row_payload_bytes_each"]} bytes of row payload (the run's index row and its inbox entry, with their indexes).

Checks: ${x.checks.map(([c, ok]) => `${c}: ${ok ? "ok" : "**failed**"}`).join("; ")}.
`;
  writeBenchResults(root, "approvals", x.date, m, section);
}

runBench(main, cleanup, benchTimer);
