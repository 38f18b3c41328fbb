/**
 * Budget benchmark (issue 8), in local workerd (`wrangler dev` on a snapshot of the Worker, its
 * audit database a sqld the benchmark starts). A workflow of three scripted model calls; every
 * call reserves its worst case in the tenant's and the workflow's Budget objects before it runs
 * and settles the actual cost after.
 *
 *  - Overhead per model call, from each run's own event clock (workerd's clock advances across
 *    I/O, at 1 ms resolution): reserve = from when the call reached the gate (its slice request
 *    when it asked for one, else its node's last step before the gate) to `budget.reserved`; settle = the call's
 *    completion to `budget.settled`; and the slice round trips themselves. Measured with one run
 *    at a time and with RUNS runs in flight sharing one tenant budget.
 *  - The shared budget under load: a tenant day limit of about 40% of what RUNS runs would cost,
 *    all in flight at once: settled total vs the limit (overspend must be 0), runs halted with
 *    `budget.refused`, and the request rate the tenant's Budget object served (slices and their
 *    returns per second, and per model call) against its ~1,000 requests/s ceiling.
 *
 * Writes bench/results/budgets.json and the `## budgets` section of bench/RESULTS.md.
 * Run alone: `node bench/budgets.ts` (Node 22 strips the types); --quick (small counts, writes nothing), --no-write, --profile (CPU profile of workerd over the runs one at a time).
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintToken } from "../src/auth/tokens.ts";
import { guardBench, runBench, writeBenchResults } from "./support/bench-run.ts";
import { gitState, pct, sleep } from "./support/stats.ts";
import { startWorkerWithAudit, stopBenchServers } from "./support/worker-with-audit.ts";
import { openProfiler, summarizeProfile } from "./support/profile.ts";

const root = join(import.meta.dirname, "..");
const t00 = performance.now();
const log = (msg: string) => console.log(`[${((performance.now() - t00) / 1000).toFixed(1).padStart(5)} s] ${msg}`);
const QUICK = process.argv.includes("--quick");
const WRITE = !QUICK && !process.argv.includes("--no-write");

const SEQUENTIAL = QUICK ? 10 : 200;
/** runs one at a time on a second wrangler dev with its local-dev collectors on, the in-run baseline for what they add */
const SEQUENTIAL_COLLECTORS = QUICK ? 0 : 100;
const RUNS = QUICK ? 30 : 100;
const CALLS = 3;
const RUN_DEADLINE_MS = 120_000;
const BENCH_DEADLINE_MS = 8 * 60_000;

const benchTimer = guardBench("budgets", BENCH_DEADLINE_MS, stopBenchServers);

const turn = { text: '{"ok":true}', usage: { input_tokens: 10, output_tokens: 400 } };
const workflow = {
  id: "bench-budget",
  version: 1,
  description: "Benchmark: three model calls, each reserved and settled",
  provider: { kind: "scripted", script: "bench" },
  scripts: { bench: { turns: [turn, turn, turn] } },
  start: "a",
  nodes: {
    a: { kind: "llm", model: "scripted", prompt: "Step one for {{input.n}}", maxTokens: 500, next: "b" },
    b: { kind: "llm", model: "scripted", prompt: "Step two", maxTokens: 500, next: "c" },
    c: { kind: "llm", model: "scripted", prompt: "Step three", maxTokens: 500, next: "done" },
    done: { kind: "end", output: { ok: true } },
  },
};

let base = "";
let secret = "";

async function tenantHeaders(tenant: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await mintToken({ sub: `bench@${tenant}`, tenant, roles: ["admin"] }, secret)}`, "content-type": "application/json" };
}

async function req<T>(headers: Record<string, string>, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : null) as T;
}

interface Ev {
  seq: number;
  type: string;
  at: string | number;
  data: Record<string, unknown>;
}
const atMs = (e: Ev) => (typeof e.at === "number" ? e.at : Date.parse(e.at));

async function runToEnd(headers: Record<string, string>, n: number): Promise<{ id: string; status: string }> {
  const { id } = await req<{ id: string }>(headers, "POST", "/v1/runs", { workflow: workflow.id, input: { n } });
  const t = Date.now();
  for (let i = 0; ; i++) {
    await sleep(i < 10 ? 20 : 100);
    const s = await req<{ status: string }>(headers, "GET", `/v1/runs/${id}`);
    if (s.status !== "running" && s.status !== "waiting") return { id, status: s.status };
    if (Date.now() - t > RUN_DEADLINE_MS) throw new Error(`run ${id} did not end within ${RUN_DEADLINE_MS} ms`);
  }
}

async function eventsOf(headers: Record<string, string>, id: string): Promise<Ev[]> {
  const res = await fetch(`${base}/v1/runs/${id}/events`, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`events of ${id}: ${res.status} ${text.slice(0, 300)}`);
  // JSONL, one event a line
  return text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);
}

interface CallTimes {
  /** per model call: from when the call reached the gate (its slice request if it asked for one, else its node's last step before the gate, so a wait for a slice asked at admission counts) → `budget.reserved` */
  reserve: number[];
  /** per model call: the call's completion → `budget.settled` */
  settle: number[];
  /** per model call: reserve + settle */
  both: number[];
  /** calls that waited for a slice (a round trip to the Budget objects) */
  waited: number;
  /** the slice round trips: `budget.slice_requested` → granted or refused */
  roundTrip: number[];
  settledUsd: number;
  refused: number;
  /** `budget.deferred` answers (no room yet: the run waited and asked again), and the runs that waited and then completed */
  deferred: number;
  waitedThenCompleted: number;
  /** requests the tenant's Budget object served: slices (granted or refused) and slice returns */
  tenantRequests: number;
  firstAt: number;
  lastAt: number;
  /** slices asked for at admission: their round trips, how many were declined, and per run the time from \`run.started\` to its first \`llm.started\` */
  admissionRoundTrip: number[];
  admissionDeclined: number;
  startToFirstCall: number[];
}

/** Reservation and settlement times of every model call in `log`. */
function callTimes(logs: Ev[][]): CallTimes {
  const out: CallTimes = { reserve: [], settle: [], both: [], waited: 0, roundTrip: [], settledUsd: 0, refused: 0, deferred: 0, waitedThenCompleted: 0, tenantRequests: 0, firstAt: Infinity, lastAt: 0, admissionRoundTrip: [], admissionDeclined: 0, startToFirstCall: [] };
  const tenantScope = (name: unknown) => String(name).startsWith("tenant:");
  for (const events of logs) {
    const deferredHere = events.filter((e) => e.type === "budget.deferred").length;
    out.deferred += deferredHere;
    if (deferredHere && events.some((e) => e.type === "run.completed")) out.waitedThenCompleted += 1;
    const gateAt = new Map<string, number>(); // reservation id → when the gate first looked at the call
    const sliceAt = new Map<string, number>(); // slice id → requested at
    const waited = new Set<string>();
    const done = new Map<string, number>();
    const reserveOf = new Map<string, number>();
    const reservationOfCall = new Map<string, string>();
    // when the run last recorded a step of its own (not a budget event), and whether a slice was granted since: a call whose
    // slice was asked for at admission looks at the gate right after its node's last step, and waited if the grant came after that
    let stepAt = 0;
    let grantedSinceStep = false;
    const admissionIds = new Set<string>();
    const startedAt = events.length ? atMs(events[0]) : 0;
    const firstCall = events.find((e) => e.type === "llm.started");
    if (firstCall) out.startToFirstCall.push(atMs(firstCall) - startedAt);
    for (const e of events) {
      const d = e.data;
      const at = atMs(e);
      if (!e.type.startsWith("budget.")) {
        stepAt = at;
        grantedSinceStep = false;
      }
      if (e.type === "budget.slice_granted") grantedSinceStep = true;
      if (e.type === "budget.slice_requested") {
        if (d.reservationId !== null) {
          const rid = String(d.reservationId);
          if (!gateAt.has(rid)) gateAt.set(rid, at);
          waited.add(rid);
        }
        if (d.admission) admissionIds.add(String(d.sliceId));
        sliceAt.set(String(d.sliceId), at);
        out.firstAt = Math.min(out.firstAt, at);
      }
      if (e.type === "budget.slice_declined") {
        out.admissionDeclined += 1;
        const began = sliceAt.get(String(d.sliceId));
        if (began !== undefined) out.admissionRoundTrip.push(at - began);
        out.tenantRequests += 1;
      }
      if (e.type === "budget.deferred" && tenantScope(d.name)) out.tenantRequests += 1;
      if (e.type === "budget.slice_granted" || e.type === "budget.refused") {
        const began = sliceAt.get(String(d.sliceId));
        if (began !== undefined) out.roundTrip.push(at - began);
        if (began !== undefined && admissionIds.has(String(d.sliceId))) out.admissionRoundTrip.push(at - began);
        const scopes = e.type === "budget.slice_granted" ? (d.scopes as Array<{ name: string }>).map((x) => x.name) : [d.name];
        if (scopes.some(tenantScope) || e.type === "budget.refused") out.tenantRequests += 1;
      }
      if (e.type === "budget.refused") out.refused += 1;
      if (e.type === "budget.slice_returned" && tenantScope(d.name)) {
        out.tenantRequests += 1;
        out.lastAt = Math.max(out.lastAt, at);
      }
      if (e.type === "budget.requested") {
        const rid = String(d.reservationId);
        if (!gateAt.has(rid)) gateAt.set(rid, stepAt);
        if (grantedSinceStep) waited.add(rid);
        reservationOfCall.set(String(d.callId), rid);
        out.firstAt = Math.min(out.firstAt, at);
      }
      if (e.type === "budget.reserved" && gateAt.has(String(d.reservationId))) {
        const rid = String(d.reservationId);
        const took = at - gateAt.get(rid)!;
        out.reserve.push(took);
        reserveOf.set(rid, took);
        if (waited.has(rid)) out.waited += 1;
      }
      if (e.type === "llm.completed" || e.type === "llm.failed") {
        const r = reservationOfCall.get(String(d.callId));
        if (r) done.set(r, at);
      }
      if (e.type === "budget.settled") {
        const r = String(d.reservationId);
        if (done.has(r)) {
          out.settle.push(at - done.get(r)!);
          if (reserveOf.has(r)) out.both.push(reserveOf.get(r)! + at - done.get(r)!);
        }
        out.settledUsd += Number((d.actual as { usdMicros?: number })?.usdMicros ?? 0) / 1e6;
        out.lastAt = Math.max(out.lastAt, at);
      }
    }
  }
  return out;
}

/** `count` runs one at a time under `headers`' tenant (a generous budget), after 3 warm-up runs; `after` runs once they are done, before their logs are read. */
async function oneAtATime(headers: Record<string, string>, count: number, after: () => Promise<void> = async () => {}): Promise<CallTimes> {
  await req(headers, "POST", "/v1/workflows", workflow);
  await req(headers, "PUT", "/v1/budgets/tenant", { perDay: { usd: 1000 } });
  for (let i = 0; i < 3; i++) await runToEnd(headers, -i); // warm-up
  log(`${count} runs one at a time …`);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await runToEnd(headers, i);
    if (r.status !== "completed") throw new Error(`run ${r.id} ended ${r.status}`);
    ids.push(r.id);
  }
  await after();
  await sleep(500); // slice returns drain through the outbox
  return callTimes(await Promise.all(ids.map((id) => eventsOf(headers, id))));
}

/** "ms: calls" for the slice round trips, e.g. `2: 118, 3: 69, …` */
function histogram(xs: number[]): string {
  const h = new Map<number, number>();
  for (const x of xs) h.set(x, (h.get(x) ?? 0) + 1);
  return [...h].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}: ${v}`).join(", ");
}

async function main(): Promise<void> {
  const began = performance.now();
  const tree = gitState(root);
  log("starting wrangler dev with its own audit database …");
  const w = await startWorkerWithAudit(root, "budget-bench");
  const dev = w.dev;
  secret = w.secret;
  base = dev.base;

  // one run at a time (the baseline), a generous budget
  const solo = await tenantHeaders("bench-solo");
  const profiler = process.argv.includes("--profile") ? await openProfiler(w.inspectorPort) : null;
  const soloTimes = await oneAtATime(solo, SEQUENTIAL, async () => {
    if (!profiler) return;
    const profile = await profiler.stop();
    const path = join(tmpdir(), `warden-budgets-${Date.now()}.cpuprofile`);
    writeFileSync(path, JSON.stringify(profile));
    log(`CPU profile written to ${path}`);
    const sp = summarizeProfile(profile, 30);
    console.log(`workerd CPU profile over the runs one at a time: ${sp.totalMs.toFixed(0)} ms sampled, ${sp.idleMs.toFixed(0)} ms idle; ms per run, inclusive:`);
    for (const [k, v] of sp.inclusive) console.log(`  ${(v / SEQUENTIAL).toFixed(2).padStart(7)}  ${k}`);
    console.log("  ms per run, self:");
    for (const [k, v] of sp.self) console.log(`  ${(v / SEQUENTIAL).toFixed(2).padStart(7)}  ${k}`);
  });
  const perRunUsd = soloTimes.settledUsd / SEQUENTIAL;

  // RUNS runs at once against one tenant budget set to ~40% of what they would spend
  const shared = await tenantHeaders("bench-shared");
  await req(shared, "POST", "/v1/workflows", workflow);
  const limitUsd = +(perRunUsd * RUNS * 0.4).toFixed(6);
  await req(shared, "PUT", "/v1/budgets/tenant", { perDay: { usd: limitUsd } });
  log(`${RUNS} runs at once sharing a $${limitUsd} tenant budget (each run costs ~$${perRunUsd.toFixed(6)}) …`);
  const t = performance.now();
  const ends = await Promise.all(Array.from({ length: RUNS }, (_, i) => runToEnd(shared, i)));
  const wallS = (performance.now() - t) / 1000;
  await sleep(1000);
  const sharedTimes = callTimes(await Promise.all(ends.map((r) => eventsOf(shared, r.id))));
  const usage = await req<{ usage: { day: { settled: { usd: number }; reserved: { usd: number } } }; openReservations?: unknown }>(shared, "GET", "/v1/budgets/tenant");
  await dev.stop();

  // the same runs one at a time with wrangler dev's local-dev collectors on (its default), as a baseline in this run
  let collectorsTimes: CallTimes | null = null;
  if (SEQUENTIAL_COLLECTORS) {
    log("wrangler dev again, its local trace collector and explorer on …");
    const wc = await startWorkerWithAudit(root, "budget-bench-collectors", w.sqld, { devCollectors: true });
    base = wc.dev.base;
    secret = wc.secret;
    collectorsTimes = await oneAtATime(await tenantHeaders("bench-collectors"), SEQUENTIAL_COLLECTORS);
    await wc.dev.stop();
  }

  const statuses: Record<string, number> = {};
  for (const r of ends) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const settledUsd = usage.usage.day.settled.usd;
  const overspend = Math.max(0, settledUsd - limitUsd);
  const spanS = (sharedTimes.lastAt - sharedTimes.firstAt) / 1000;
  const tenantRps = sharedTimes.tenantRequests / Math.max(spanS, 0.001);
  const mean = (xs: number[]) => +(xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1)).toFixed(2);
  const row = (x: CallTimes) => ({
    calls: x.both.length,
    waited_for_slice: x.waited,
    reserve_p50: pct(x.reserve, 50),
    reserve_p99: pct(x.reserve, 99),
    settle_p50: pct(x.settle, 50),
    settle_p99: pct(x.settle, 99),
    reserve_settle_p50: pct(x.both, 50),
    reserve_settle_p99: pct(x.both, 99),
    reserve_settle_mean: mean(x.both),
    slice_round_trip_p50: pct(x.roundTrip, 50),
    slice_round_trip_p99: pct(x.roundTrip, 99),
    start_to_first_call_p50: pct(x.startToFirstCall, 50),
    start_to_first_call_p99: pct(x.startToFirstCall, 99),
  });
  const table: Record<string, ReturnType<typeof row>> = { "one run at a time": row(soloTimes), [`${RUNS} runs sharing one budget`]: row(sharedTimes) };
  if (collectorsTimes) table["one at a time, wrangler collectors on"] = row(collectorsTimes);
  console.log(`\nbudgets benchmark (${tree}); ms per model call from the runs' event clocks`);
  console.table(table);
  console.log(`slice round trips one run at a time (ms: count): ${histogram(soloTimes.roundTrip)}`);
  if (collectorsTimes) console.log(`… with wrangler's collectors on: ${histogram(collectorsTimes.roundTrip)}`);
  console.log(`first slices asked at admission, one run at a time: round trip p50 ${pct(soloTimes.admissionRoundTrip, 50)} / p99 ${pct(soloTimes.admissionRoundTrip, 99)} ms; ${soloTimes.waited} of ${soloTimes.both.length} calls waited for a slice; run.started → first llm.started p50 ${pct(soloTimes.startToFirstCall, 50)} / p99 ${pct(soloTimes.startToFirstCall, 99)} ms`);
  const callsShared = sharedTimes.both.length + sharedTimes.refused;
  console.log(`shared budget: limit $${limitUsd}, settled $${settledUsd.toFixed(6)}, overspend $${overspend.toFixed(6)}; runs ${JSON.stringify(statuses)}; ${sharedTimes.refused} refusals; ${sharedTimes.deferred} deferrals, ${sharedTimes.waitedThenCompleted} runs waited then completed; tenant Budget object served ${sharedTimes.tenantRequests} requests (slices and returns) for ${callsShared} model calls in ${spanS.toFixed(1)} s = ${tenantRps.toFixed(0)} requests/s (wall ${wallS.toFixed(1)} s)`);

  const m: Record<string, number> = {
    "budget.reserve_settle.p50_ms": pct(soloTimes.both, 50),
    "budget.reserve_settle.p99_ms": pct(soloTimes.both, 99),
    "budget.overspend_usd": +overspend.toFixed(6),
    "budget.reserve_settle.mean_ms": mean(soloTimes.both),
    "budget.reserve.p50_ms": pct(soloTimes.reserve, 50),
    "budget.reserve.p99_ms": pct(soloTimes.reserve, 99),
    "budget.settle.p99_ms": pct(soloTimes.settle, 99),
    "budget.calls_waiting_for_slice_pct": +((100 * soloTimes.waited) / Math.max(soloTimes.both.length, 1)).toFixed(1),
    "budget.slice_round_trip.p50_ms": pct(soloTimes.roundTrip, 50),
    "budget.slice_round_trip.p99_ms": pct(soloTimes.roundTrip, 99),
    "budget.admission.round_trip.p50_ms": pct(soloTimes.admissionRoundTrip, 50),
    "budget.admission.round_trip.p99_ms": pct(soloTimes.admissionRoundTrip, 99),
    "budget.start_to_first_call.p50_ms": pct(soloTimes.startToFirstCall, 50),
    "budget.start_to_first_call.p99_ms": pct(soloTimes.startToFirstCall, 99),
    "budget.shared.reserve_settle.p50_ms": pct(sharedTimes.both, 50),
    "budget.shared.reserve_settle.p99_ms": pct(sharedTimes.both, 99),
    "budget.shared.slice_round_trip.p99_ms": pct(sharedTimes.roundTrip, 99),
    "budget.shared.limit_usd": limitUsd,
    "budget.shared.settled_usd": +settledUsd.toFixed(6),
    "budget.shared.runs_completed": statuses.completed ?? 0,
    "budget.shared.runs_halted": statuses.halted ?? 0,
    "budget.shared.refusals": sharedTimes.refused,
    "budget.shared.deferrals": sharedTimes.deferred,
    "budget.shared.admission_declined": sharedTimes.admissionDeclined,
    "budget.shared.runs_waited_then_completed": sharedTimes.waitedThenCompleted,
    "budget.shared.tenant_object_requests_per_s": Math.round(tenantRps),
    "budget.shared.tenant_object_requests_per_call": +(sharedTimes.tenantRequests / Math.max(callsShared, 1)).toFixed(2),
    "budget.calls_measured": soloTimes.both.length + sharedTimes.both.length,
    ...(collectorsTimes
      ? {
          "budget.with_wrangler_collectors.reserve_settle.p99_ms": pct(collectorsTimes.both, 99),
          "budget.with_wrangler_collectors.reserve_settle.mean_ms": mean(collectorsTimes.both),
          "budget.with_wrangler_collectors.slice_round_trip.p50_ms": pct(collectorsTimes.roundTrip, 50),
          "budget.with_wrangler_collectors.slice_round_trip.p99_ms": pct(collectorsTimes.roundTrip, 99),
          "budget.with_wrangler_collectors.start_to_first_call.p50_ms": pct(collectorsTimes.startToFirstCall, 50),
        }
      : {}),
  };
  const targets: Array<[string, boolean]> = [
    ["reserve + settle p99 ≤ 5 ms (one run at a time)", m["budget.reserve_settle.p99_ms"] <= 5],
    ["overspend $0", m["budget.overspend_usd"] === 0],
  ];
  for (const [k, ok] of targets) console.log(`  ${ok ? "met   " : "MISSED"}  ${k}`);

  if (WRITE) {
    const date = new Date().toISOString();
    const section = `## budgets

\`node bench/budgets.ts\` (${date.slice(0, 10)}, tree ${tree}, ${((performance.now() - began) / 1000).toFixed(0)} s, 2-core noisy machine): a workflow of ${CALLS} scripted model calls in local workerd, ${SEQUENTIAL} runs one at a time, then ${RUNS} at once.
Each run borrows a slice of the tenant's and the workflow's budgets from their Budget objects (both asked in parallel, ${"`"}SLICE_CALLS${"`"} = 4 worst-case calls' worth, less when the budget is tight) and reserves and settles
each call against its slices as decisions in its own log; the slices go back (settled at what they lent) when the run ends. Milliseconds per model call, from each run's event clock
(workerd's clock advances across I/O, at 1 ms resolution). reserve: from when the call reached the gate (its \`budget.slice_requested\` when it asked for a slice, else its node's last step before the gate, so that waiting for a slice asked at admission counts) → \`budget.reserved\`;
settle: the call's completion → \`budget.settled\`; slice round trip: \`budget.slice_requested\` → \`budget.slice_granted\` (or \`budget.refused\`).

| | calls | waited for a slice | reserve p50 | reserve p99 | settle p50 | settle p99 | reserve + settle p50 | reserve + settle p99 | mean | slice round trip p50 | p99 | run start → first call p50 | p99 |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${Object.entries(table)
  .map(([k, v]) => `| ${k} | ${v.calls} | ${v.waited_for_slice} | ${v.reserve_p50} | ${v.reserve_p99} | ${v.settle_p50} | ${v.settle_p99} | ${v.reserve_settle_p50} | ${v.reserve_settle_p99} | ${v.reserve_settle_mean} | ${v.slice_round_trip_p50} | ${v.slice_round_trip_p99} | ${v.start_to_first_call_p50} | ${v.start_to_first_call_p99} |`)
  .join("\n")}

Where the round trip went: a run whose first node is a model call asks for its first slice as it starts (\`admission: true\`, written with \`run.started\`), and sends it while it writes itself into
the tenant's index (which it does before its first step). ${soloTimes.waited} of the ${soloTimes.both.length} calls one run at a time waited for a slice; the admission round trip itself was p50 ${pct(soloTimes.admissionRoundTrip, 50)} / p99
${pct(soloTimes.admissionRoundTrip, 99)} ms (all slice round trips, ms: count: ${histogram(soloTimes.roundTrip)}), and a run's first model call started p50 ${pct(soloTimes.startToFirstCall, 50)} / p99 ${pct(soloTimes.startToFirstCall, 99)} ms after \`run.started\`.
Before (tree f8e9b17, this benchmark's code run against that tree, alternating with HEAD at a934d1b, three runs each): the first call asked at the call and waited its round trip, reserve + settle p99 4–5 ms,
run.started → first llm.started p50 5 / 5 / 5 ms and p99 7 / 9 / 7 ms, against p50 4 / 4 / 4 and p99 11 / 8 / 8 at HEAD: a millisecond off the median start, the tail within this machine's noise; with the
index written by the API while the run asked (tree 4018b43): reserve + settle p99 7–9 ms. In local workerd every Durable Object of the Worker shares one isolate thread and each SQLite commit (an fsync) blocks it, so work that overlaps a round trip here is work
the run does anyway (its index write), not parallel hardware; deployed, the two requests go to different objects and overlap for real. Under contention an admission ask that finds no room is
\`budget.slice_declined\` (the run goes on and its first call asks again): one extra request per run. The settlement is a decision written with the call's outcome or the next step, so it costs no round trip.
The previous design (a reservation and a settlement in both Budget objects per call, the settlement through the run's outbox) measured reserve + settle p50 18 ms / p99 29 ms one run at a time on
this machine (2026-11-25, tree 3677bd7).

wrangler dev runs two local-dev collectors by default (\`X_LOCAL_OBSERVABILITY\`, \`X_LOCAL_EXPLORER\`): the trace collector writes every invocation's tail events into a SQLite database of its own on
the same thread (in a strace of this benchmark, more than half of all page writes). Neither exists in deployed Workers or in a self-hosted workerd, so the benchmarks turn them off; the row "one at a time,
wrangler collectors on" is the same ${SEQUENTIAL_COLLECTORS || ""} runs one at a time on a second wrangler dev with them on, in this run${collectorsTimes ? ` (slice round trips: ${histogram(collectorsTimes.roundTrip)})` : ""}.

Shared budget: ${RUNS} runs started at once against a tenant day limit of $${limitUsd} (about 40% of what they would spend): settled $${settledUsd.toFixed(6)}, **overspend $${overspend.toFixed(6)}**;
runs ${JSON.stringify(statuses)}, ${sharedTimes.refused} calls refused before they ran, ${sharedTimes.admissionDeclined} admission asks declined; ${sharedTimes.deferred} times a run found the room held by other runs' slices and waited (\`budget.deferred\`), and ${sharedTimes.waitedThenCompleted} runs that waited went on to complete. The tenant's Budget object served ${sharedTimes.tenantRequests} requests (slices granted or refused, slices returned) for ${callsShared} model calls
(${m["budget.shared.tenant_object_requests_per_call"]} per call; per-call reservation would take 2) in ${spanS.toFixed(1)} s, about **${Math.round(tenantRps)} requests/s**.
The ceiling: a Durable Object serves on the order of 1,000 requests/s. With a reservation and a settlement per call, one tenant budget would top out near 500 model calls/s; with slices of 4 calls it takes
2 requests per run (a slice and its return) for up to 4 calls, so about 2,000 model calls/s, and more with more calls per slice. When the budget is nearly used up, slices shrink to a quarter of what is left
(never less than the call needs), so the last dollars are spread over more, smaller requests instead of being held by a few runs.

Targets: ${targets.map(([k, ok]) => `${k}: ${ok ? "met" : "**missed**"}`).join("; ")}.
`;
    writeBenchResults(root, "budgets", date, m, section);
  }
  log("done");
}

runBench(main, stopBenchServers, benchTimer);
