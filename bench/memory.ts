/**
 * Agent memory benchmark (issue 9): one AgentMemory scope holding 100,000 facts in local workerd
 * (`wrangler dev` on a snapshot of the Worker, its audit database a sqld the benchmark starts),
 * driven through the public API one request at a time:
 *
 *  - write: POST /v1/memory/:scope/facts with one fact — a new (subject, attribute), and one that
 *    contradicts the believed value (a conflict is detected and recorded), and one that a newer
 *    human value supersedes by the declared rule;
 *  - current read: GET /v1/memory/:scope?subject=…&attribute=…;
 *  - as-of read: the same with `as_of` before the corrections (the value later corrected);
 *  - baselines in the same run: the same writes and reads against a scope holding 100 facts, and
 *    the floor of one authenticated API request (GET /v1/runs?limit=1 would audit a read, so
 *    GET /healthz: wrangler's proxy, the Worker, no auth).
 *
 * Times are client-side round trips on 127.0.0.1; the table also gives them minus the floor's
 * median, the part the Worker and the memory object add. Writes are audited (tenant stream) and
 * reads too, as in production.
 * Writes bench/results/memory.json and the `## memory` section of bench/RESULTS.md.
 * Run alone: `node bench/memory.ts` (Node 22 strips the types); --quick (10,000 facts, writes nothing).
 */
import { join } from "node:path";
import { mintToken } from "../src/auth/tokens.ts";
import { guardBench, runBench, writeBenchResults } from "./support/bench-run.ts";
import { gitState, pct, r2, sleep } from "./support/stats.ts";
import { startWorkerWithAudit, stopBenchServers } from "./support/worker-with-audit.ts";

const root = join(import.meta.dirname, "..");
const t00 = performance.now();
const log = (msg: string) => console.log(`[${((performance.now() - t00) / 1000).toFixed(1).padStart(5)} s] ${msg}`);
const QUICK = process.argv.includes("--quick");
const WRITE = !QUICK && !process.argv.includes("--no-write");

const FACTS = QUICK ? 10_000 : 100_000;
const ATTRIBUTES = 10; // per subject
const PER_REQUEST = 100; // the API's limit
const FILL_CONCURRENCY = 4;
const SAMPLES = QUICK ? 100 : 500;
const SMALL = 100;
const BENCH_DEADLINE_MS = 10 * 60_000;
const TENANT = "bench";

const benchTimer = guardBench("memory", BENCH_DEADLINE_MS, stopBenchServers);

let base = "";
let headers: Record<string, string> = {};

interface Timed {
  ms: number;
  /** the Worker's own measure of its call to the memory object (`Server-Timing: memory;dur=…`) */
  objectMs: number;
  status: number;
  json: unknown;
}

async function call(method: string, path: string, body?: unknown): Promise<Timed> {
  const t = performance.now();
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const json = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
  const ms = performance.now() - t;
  const st = /(?:^|,)\s*memory;dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "");
  return { ms, objectMs: st ? Number(st[1]) : NaN, status: res.status, json };
}

/** Client round trips and in-Worker object times, side by side. */
class Sample {
  client: number[] = [];
  object: number[] = [];
}

async function expectOk(r: Promise<Timed>, what: string, into?: Sample): Promise<number> {
  const x = await r;
  if (x.status >= 300) throw new Error(`${what} answered ${x.status}: ${JSON.stringify(x.json).slice(0, 500)}`);
  into?.client.push(x.ms);
  if (into && !Number.isNaN(x.objectMs)) into.object.push(x.objectMs);
  return x.ms;
}

const fact = (subject: string, attribute: string, value: unknown, extra: Record<string, unknown> = {}) => ({ subject, attribute, value, sourceKind: "human", ...extra });

/** Fills `scope` with `n` facts: subjects s0…, ATTRIBUTES each. */
async function fill(scope: string, n: number): Promise<void> {
  const batches: unknown[][] = [];
  for (let i = 0; i < n; i += PER_REQUEST) {
    const b: unknown[] = [];
    for (let k = i; k < Math.min(n, i + PER_REQUEST); k++) b.push(fact(`s${Math.floor(k / ATTRIBUTES)}`, `a${k % ATTRIBUTES}`, { v: k, note: `value ${k} of the claimant's file` }));
    batches.push(b);
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: FILL_CONCURRENCY }, async () => {
      while (next < batches.length) {
        const b = batches[next++];
        await expectOk(call("POST", `/v1/memory/${scope}/facts`, { facts: b }), `filling ${scope}`);
      }
    }),
  );
}

interface Series {
  write: Sample;
  conflict: Sample;
  supersede: Sample;
  read: Sample;
  asof: Sample;
}

/** The measured operations on `scope` (holding `n` facts), one request at a time. */
async function measure(scope: string, n: number, asOf: string, tag: string): Promise<Series> {
  const s: Series = { write: new Sample(), conflict: new Sample(), supersede: new Sample(), read: new Sample(), asof: new Sample() };
  const subjects = Math.floor(n / ATTRIBUTES);
  for (let i = 0; i < SAMPLES; i++) {
    const subj = `s${(i * 7919) % subjects}`;
    const attr = `a${i % ATTRIBUTES}`;
    // a new attribute: nothing to conflict with
    await expectOk(call("POST", `/v1/memory/${scope}/facts`, { facts: [fact(`${tag}-new${i}`, "address", { street: `${i} Main St` })] }), "write", s.write);
    // a model inference contradicting a human-entered value: a conflict, recorded
    await expectOk(call("POST", `/v1/memory/${scope}/facts`, { facts: [fact(subj, attr, { v: -i }, { sourceKind: "model_inference", confidence: 0.6 })] }), "conflicting write", s.conflict);
    // a newer human value supersedes by the declared rule
    await expectOk(call("POST", `/v1/memory/${scope}/facts`, { facts: [fact(subj, `${attr}`, { v: i, corrected: true }, { resolveRule: "newer_human_supersedes" })] }), "superseding write", s.supersede);
    await expectOk(call("GET", `/v1/memory/${scope}?subject=${subj}&attribute=${attr}`), "read", s.read);
    await expectOk(call("GET", `/v1/memory/${scope}?subject=${subj}&attribute=${attr}&as_of=${encodeURIComponent(asOf)}`), "as-of read", s.asof);
  }
  return s;
}

async function main(): Promise<void> {
  const began = performance.now();
  const tree = gitState(root);
  log("starting wrangler dev with its own audit database …");
  const w = await startWorkerWithAudit(root, "memory-bench");
  const dev = w.dev;
  const secret = w.secret;
  base = dev.base;
  headers = { authorization: `Bearer ${await mintToken({ sub: "bench", tenant: TENANT, roles: ["admin"] }, secret)}`, "content-type": "application/json" };

  log(`filling scope "big" with ${FACTS.toLocaleString("en-US")} facts (${PER_REQUEST} a request, ${FILL_CONCURRENCY} at once) …`);
  const fillStart = performance.now();
  await fill("big", FACTS);
  const fillS = (performance.now() - fillStart) / 1000;
  await fill("small", SMALL);
  await sleep(50);
  const asOf = new Date().toISOString(); // before every correction below
  await sleep(20);

  // warm-up, then the floor
  await measure("small", SMALL, asOf, "warm");
  const floor: number[] = [];
  for (let i = 0; i < SAMPLES; i++) floor.push(await expectOk(call("GET", "/healthz"), "healthz"));

  log(`measuring on the ${FACTS.toLocaleString("en-US")}-fact scope (${SAMPLES} of each) …`);
  const big = await measure("big", FACTS, asOf, "big");
  log(`measuring on the ${SMALL}-fact scope …`);
  const small = await measure("small", SMALL, asOf, "small");

  // the as-of read returns the value before the correction
  const check = (await call("GET", `/v1/memory/big?subject=s0&attribute=a0&as_of=${encodeURIComponent(asOf)}`)).json as { facts: Array<{ value: { v: number } }> };
  const now = (await call("GET", `/v1/memory/big?subject=s0&attribute=a0`)).json as { facts: Array<{ value: { v: number; corrected?: boolean } }> };
  const asOfRight = check.facts.length === 1 && check.facts[0].value.v === 0 && now.facts.length === 1 && now.facts[0].value.corrected === true;
  const conflicts = (await call("GET", `/v1/memory/conflicts?scope=big&status=all&limit=500`)).json as { conflicts?: unknown[]; items?: unknown[] };
  const conflictCount = (conflicts.conflicts ?? conflicts.items ?? []).length;
  await dev.stop();

  const floorP50 = pct(floor, 50);
  const row = (x: Sample) => ({ object_p50: r2(pct(x.object, 50)), object_p99: r2(pct(x.object, 99)), client_p50: r2(pct(x.client, 50)), client_p99: r2(pct(x.client, 99)) });
  const table: Record<string, ReturnType<typeof row>> = {
    [`write, new attribute (${FACTS / 1000}k facts)`]: row(big.write),
    [`write, contradicting → conflict (${FACTS / 1000}k)`]: row(big.conflict),
    [`write, newer human supersedes (${FACTS / 1000}k)`]: row(big.supersede),
    [`current read (${FACTS / 1000}k)`]: row(big.read),
    [`as-of read (${FACTS / 1000}k)`]: row(big.asof),
    [`write, new attribute (${SMALL} facts)`]: row(small.write),
    [`write, contradicting → conflict (${SMALL})`]: row(small.conflict),
    [`current read (${SMALL})`]: row(small.read),
    [`as-of read (${SMALL})`]: row(small.asof),
  };
  console.log(`\nmemory benchmark (${tree}); ms: the Worker's call to the memory object (Server-Timing), and the client's round trip on 127.0.0.1; one at a time`);
  console.table(table);
  console.log(`floor, GET /healthz through wrangler dev: p50 ${r2(floorP50)} ms, p99 ${r2(pct(floor, 99))} ms`);
  const p = (x: number[], q: number) => r2(pct(x, q));
  const m: Record<string, number> = {
    "memory.write.p99_ms": p(big.write.object, 99),
    "memory.read.p99_ms": p(big.read.object, 99),
    "memory.asof.p99_ms": p(big.asof.object, 99),
    "memory.write.p50_ms": p(big.write.object, 50),
    "memory.read.p50_ms": p(big.read.object, 50),
    "memory.asof.p50_ms": p(big.asof.object, 50),
    "memory.conflict_write.p50_ms": p(big.conflict.object, 50),
    "memory.conflict_write.p99_ms": p(big.conflict.object, 99),
    "memory.conflict_detection.extra_p50_ms": r2(pct(big.conflict.object, 50) - pct(big.write.object, 50)),
    "memory.supersede_write.p99_ms": p(big.supersede.object, 99),
    "memory.small_scope.write.p99_ms": p(small.write.object, 99),
    "memory.small_scope.read.p99_ms": p(small.read.object, 99),
    "memory.small_scope.asof.p99_ms": p(small.asof.object, 99),
    "memory.client.write.p99_ms": p(big.write.client, 99),
    "memory.client.read.p99_ms": p(big.read.client, 99),
    "memory.client.asof.p99_ms": p(big.asof.client, 99),
    "memory.floor.p50_ms": r2(floorP50),
    "memory.floor.p99_ms": p(floor, 99),
    "memory.facts": FACTS,
    "memory.fill.facts_per_s": Math.round(FACTS / fillS),
    "memory.conflicts_recorded": conflictCount,
  };
  const targets: Array<[string, boolean]> = [
    ["write p99 ≤ 5 ms", m["memory.write.p99_ms"] <= 5],
    ["current read p99 ≤ 5 ms", m["memory.read.p99_ms"] <= 5],
    ["as-of read p99 ≤ 10 ms", m["memory.asof.p99_ms"] <= 10],
    ["as-of returns the value before the correction", asOfRight],
  ];
  for (const [t, ok] of targets) console.log(`  ${ok ? "met   " : "MISSED"}  ${t}`);
  console.log(`  conflicts recorded on the big scope: ${conflictCount} (listing capped at 500)`);

  if (WRITE) {
    const date = new Date().toISOString();
    const section = `## memory

\`node bench/memory.ts\` (${date.slice(0, 10)}, tree ${tree}, ${((performance.now() - began) / 1000).toFixed(0)} s, 2-core noisy machine): one AgentMemory scope filled with ${FACTS.toLocaleString("en-US")} facts
(${FACTS / ATTRIBUTES} subjects × ${ATTRIBUTES} single-valued attributes, through the API at ${m["memory.fill.facts_per_s"]} facts/s), then ${SAMPLES} of each operation one request at a time
through the public API of \`wrangler dev\` (local workerd). Baselines in the same run: the same operations on a scope of ${SMALL} facts, and the floor of one request.
Milliseconds. "object": the Worker's own measure of its RPC to the AgentMemory object, reported in \`Server-Timing: memory;dur=…\` (the object's SQLite work and the call; workerd's clock advances across I/O, so this is the call at the clock's resolution) — the targets apply to it. "client": the whole round trip on 127.0.0.1 through wrangler dev's proxy, auth, the audited read or the audited act (writes and reads are audited, as in production).

| | object p50 | object p99 | client p50 | client p99 |
| --- | --- | --- | --- | --- |
${Object.entries(table)
  .map(([k, v]) => `| ${k} | ${v.object_p50} | ${v.object_p99} | ${v.client_p50} | ${v.client_p99} |`)
  .join("\n")}

The floor of one request through \`wrangler dev\` (GET /healthz: its proxy, then the Worker) is p50 ${m["memory.floor.p50_ms"]} ms, p99 ${m["memory.floor.p99_ms"]} ms on this machine.

Conflict detection costs ${m["memory.conflict_detection.extra_p50_ms"]} ms at p50 (object time) over a write with nothing to conflict with (the contradicting write also records the conflict and indexes it for \`GET /v1/memory/conflicts\`).
The as-of read at a time before the corrections returned the old value: ${asOfRight ? "yes" : "**no**"}.

Targets: ${targets.map(([t, ok]) => `${t}: ${ok ? "met" : "**missed**"}`).join("; ")}.
`;
    writeBenchResults(root, "memory", date, m, section);
  }
  log("done");
}

runBench(main, stopBenchServers, benchTimer);
