/**
 * Audit trail benchmark (issue 7), against a real sqld the benchmark starts on 127.0.0.1:
 *
 *  - Shipping: the code path a Durable Object's outbox uses (`AuditStore.insertRows`: batches of
 *    SHIP_BATCH rows, one `INSERT … SELECT … FROM json_each(?) ON CONFLICT DO NOTHING` each) from
 *    Node over HTTP, with one shipper and with four at once (four objects shipping together).
 *    Baseline in the same run: the obvious drizzle insert (`insert(...).values(rows)
 *    .onConflictDoNothing()`, one multi-row VALUES statement per batch). Entries are realistic:
 *    chained, redacted run events of ~1.2 KB. A second delivery of a batch adds no row.
 *  - Lag: event → row in libSQL, under load: `wrangler dev` on a snapshot of the Worker, its
 *    AUDIT_DB_URL on this sqld, 50 runs in flight (each client starts its next run when the last
 *    completes) for LOAD_SECONDS; a poller reads new rows every POLL_MS and takes, for each
 *    entry, (when the poller first saw it) − (the entry's `at`, stamped in the object when the
 *    event was committed). Afterwards every run's stream is checked: seqs 1…n with no gap, ending
 *    in `run.completed`.
 *  - Verification: `warden audit verify --file` (the CLI, end to end, a child process) on a
 *    generated export of 200,000 entries, and `verifyAudit` in-process (bench/support/verify-throughput.ts).
 *  - Redaction: recall and precision on the labelled corpus (bench/support/redaction-quality.ts).
 *
 * Writes bench/results/audit.json and the `## audit` section of bench/RESULTS.md.
 * Run alone: `node bench/audit.ts` (Node 22 strips the types; use node_modules/.bin/node).
 * Options: --quick (small counts, writes nothing), --no-write, --ship-only, --lag-only, --profile (CPU profile of workerd during the load)
 * [--in-flight N] [--seconds S] (those three write nothing). Every wait has a deadline.
 */
import { join } from "node:path";
import { createClient, type Client } from "@libsql/client/web";
import { EMPTY_HEAD, extendChain, type AuditEntry, type AuditRecord } from "../src/audit/audit-entry.ts";
import { entryToRow, entryToRowJson } from "../src/audit/audit-rows.ts";
import { auditEntries } from "../src/audit/audit-schema.ts";
import { AuditStore } from "../src/audit/audit-store.ts";
import { SHIP_BATCH } from "../src/audit/audit-shipper.ts";
import { MAX_ROWS } from "../src/audit/group-commit.ts";
import { redact } from "../src/audit/redaction.ts";
import { mintToken } from "../src/auth/tokens.ts";
import { startSqld, type Sqld } from "../test/support/sqld.ts";
import { guardBench, runBench, writeBenchResults } from "./support/bench-run.ts";
import { openProfiler, summarizeProfile } from "./support/profile.ts";
import { measureRedactionQuality } from "./support/redaction-quality.ts";
import { gitState, median, pct, r2, sleep } from "./support/stats.ts";
import { measureVerify } from "./support/verify-throughput.ts";
import { startBenchSqld, startWorkerWithAudit, stopBenchServers } from "./support/worker-with-audit.ts";

const root = join(import.meta.dirname, "..");
const t00 = performance.now();
const log = (msg: string) => console.log(`[${((performance.now() - t00) / 1000).toFixed(1).padStart(5)} s] ${msg}`);
const argv = new Set(process.argv.slice(2));
const QUICK = argv.has("--quick");
const WRITE = !argv.has("--no-write") && !QUICK;

const SHIP_ENTRIES = QUICK ? 10_000 : 100_000; // per shipping variant
const SHIP_STREAMS = 200;
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const LOAD_SECONDS = arg("--seconds", QUICK ? 5 : 20);
const IN_FLIGHT = arg("--in-flight", 50);
const ONLY_LAG = argv.has("--lag-only");
const ONLY_SHIP = argv.has("--ship-only");
const PROFILE = argv.has("--profile");
const POLL_MS = 20;
const VERIFY_ENTRIES = QUICK ? 20_000 : 200_000;
const REDACTION_RECORDS = QUICK ? 1000 : 5000;
const RUN_DEADLINE_MS = 60_000;
const DRAIN_DEADLINE_MS = 60_000;
const BENCH_DEADLINE_MS = 8 * 60_000;
const TENANT = "bench";

let sqld: Sqld | null = null; // the lag's database while it is measured (the poller stops when it is gone)
const benchTimer = guardBench("audit", BENCH_DEADLINE_MS, stopBenchServers);

// ---------------------------------------------------------------- shipping

/** Chained, redacted entries like runs': ~1.2 KB each, PII in the model's text redacted as the runtime does; in time order over SHIP_STREAMS streams. */
function shippingEntries(prefix: string, n: number): AuditEntry[] {
  const perStream = Math.ceil(n / SHIP_STREAMS);
  const out: AuditEntry[] = [];
  for (let s = 0; s < SHIP_STREAMS && out.length < n; s++) {
    const stream = `run:${prefix}-${s}`;
    const records: AuditRecord[] = [];
    for (let i = 0; i < perStream && out.length + records.length < n; i++) {
      const raw = {
        node: i % 2 ? "assess" : "lookup",
        callId: `${stream}/${i}`,
        response: {
          text: `Claim C-${s}-${i}: the claimant (jane.doe${i}@example.com, +1 415 555 01${String(i % 100).padStart(2, "0")}) reports water damage in the kitchen after a pipe burst on the night of the storm. Photos and the plumber's invoice are attached; the policy covers sudden and accidental discharge. Prior claims: none in five years. Recommendation: pay, subject to the deductible. `.repeat(2),
          usage: { inputTokens: 812 + i, outputTokens: 143, cachedTokens: 0 },
          toolCalls: [],
        },
        durationMs: 412,
      };
      const { value, redactions } = redact(raw, { fields: ["response.usage.inputTokens"] });
      records.push({
        tenant: TENANT,
        stream,
        at: Date.UTC(2026, 10, 1) + i * SHIP_STREAMS + s, // the streams' events interleave in time
        runId: stream.slice(4),
        workflow: { id: "claims-intake", version: 3, hash: "sha256:3f1c0d" },
        actor: { kind: "service", id: "warden" },
        type: i % 2 ? "llm.completed" : "tool.completed",
        payload: value,
        policyHash: "sha256:9a8b7c",
        redactions,
        retainUntil: Date.UTC(2027, 4, 1),
      });
    }
    out.push(...extendChain(EMPTY_HEAD, records).entries);
  }
  // in time order, as the AuditWriter receives them from many runs at once: every statement
  // interleaves all the streams
  return out.sort((a, b) => a.at - b.at);
}

function batches<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** The entry as drizzle's insert wants it (camelCase columns). */
function drizzleRow(e: AuditEntry): typeof auditEntries.$inferInsert {
  const r = entryToRow(e);
  return {
    id: r.id,
    tenant: r.tenant,
    stream: r.stream,
    seq: r.seq,
    at: r.at,
    runId: r.run_id,
    workflowId: r.workflow_id,
    workflowVersion: r.workflow_version,
    workflowHash: r.workflow_hash,
    actorKind: r.actor_kind,
    actorId: r.actor_id,
    type: r.type,
    payload: r.payload,
    policyHash: r.policy_hash,
    redactions: r.redactions,
    retainUntil: r.retain_until,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

async function countRows(client: Client, streamPrefix: string): Promise<number> {
  const r = await client.execute({ sql: "SELECT count(*) AS n FROM audit_entries WHERE stream >= ? AND stream < ?", args: [`run:${streamPrefix}-`, `run:${streamPrefix}.`] });
  return Number(r.rows[0].n);
}

/** Ships `entries` one statement at a time, `rows` rows a statement; entries/s. */
async function ship(store: AuditStore, entries: AuditEntry[], rows: number, how: "json_each" | "drizzle"): Promise<number> {
  // serialized up front, as the outbox holds them
  const work = batches(entries, rows).map((b) => (how === "json_each" ? b.map(entryToRowJson) : b.map(drizzleRow)));
  const t = performance.now();
  for (const b of work) {
    if (how === "json_each") await store.insertRows(b as string[]);
    else await store.db.insert(auditEntries).values(b as Array<typeof auditEntries.$inferInsert>).onConflictDoNothing();
  }
  return entries.length / ((performance.now() - t) / 1000);
}

async function measureShipping(): Promise<{ rows: Array<[string, number]>; oneShipper: number; group: number; baseline: number; redeliveryAdded: number; allArrived: boolean }> {
  // one shipper: the audit database takes one writer at a time (sqld answers "database is
  // locked" to a second), which is why shipments go through the AuditWriter's group commit
  const variants: Array<{ key: string; label: string; rows: number; how: "json_each" | "drizzle" }> = [
    { key: "base1", label: `drizzle multi-row VALUES, ${SHIP_BATCH} rows a statement (baseline)`, rows: SHIP_BATCH, how: "drizzle" },
    { key: "one", label: `INSERT … SELECT FROM json_each(?), ${SHIP_BATCH} rows (one object's shipment)`, rows: SHIP_BATCH, how: "json_each" },
    { key: "group", label: `INSERT … SELECT FROM json_each(?), ${MAX_ROWS} rows (the AuditWriter's group commit under load)`, rows: MAX_ROWS, how: "json_each" },
  ];
  const rate: Record<string, number> = {};
  let allArrived = true;
  let redeliveryAdded = 0;
  for (const v of variants) {
    // each variant on a fresh sqld, so none inherits another's table
    const db = await startSqld();
    try {
      const client = createClient({ url: db.url });
      const store = new AuditStore(client);
      await store.ready();
      await ship(store, shippingEntries("warm", 5000), v.rows, v.how); // connection, statement cache, page cache
      const entries = shippingEntries(v.key, SHIP_ENTRIES);
      log(`shipping ${entries.length} entries: ${v.label} …`);
      rate[v.key] = await ship(store, entries, v.rows, v.how);
      const n = await countRows(client, v.key);
      if (n !== entries.length) {
        allArrived = false;
        console.error(`  ${v.label}: ${n} rows for ${entries.length} entries`);
      }
      if (v.key === "one") {
        // a redelivered batch (the object died between ship and acknowledge) adds nothing
        await store.insertRows(entries.slice(0, SHIP_BATCH).map(entryToRowJson));
        redeliveryAdded = (await countRows(client, v.key)) - n;
      }
      client.close();
    } finally {
      await db.dispose();
    }
  }
  return {
    rows: variants.map((v) => [v.label, Math.round(rate[v.key])]),
    oneShipper: Math.round(rate.one),
    group: Math.round(rate.group),
    baseline: Math.round(rate.base1),
    redeliveryAdded,
    allArrived,
  };
}

// ---------------------------------------------------------------- lag under load

function workflowDoc() {
  return {
    id: "bench-audit",
    version: 1,
    description: "Benchmark: three model steps with PII in the input",
    provider: { kind: "scripted", script: "bench" },
    scripts: { bench: { turns: [{ text: '{"recommendation":"pay","note":"claimant reachable at jane.doe@example.com"}' }, { text: '{"checked":true}' }, { text: '{"decision":"pay"}' }] } },
    start: "assess",
    nodes: {
      assess: { kind: "llm", model: "scripted", prompt: "Claim {{input.claimId}} from {{input.email}}", next: "check" },
      check: { kind: "llm", model: "scripted", prompt: "Check {{input.claimId}}", next: "decide" },
      decide: { kind: "llm", model: "scripted", prompt: "Decide {{input.claimId}}", next: "done" },
      done: { kind: "end", output: { status: "decided" } },
    },
  };
}

interface LagResult {
  runs: number;
  entries: number;
  lags: number[];
  streamsOk: number;
  streamsBad: string[];
  drainMs: number;
}

async function measureLag(db: Sqld): Promise<LagResult> {
  const url = db.url;
  log(`starting wrangler dev (AUDIT_DB_URL ${url}) …`);
  const { dev, secret, inspectorPort } = await startWorkerWithAudit(root, "audit-bench", db);
  const base = dev.base;
  const headers = { authorization: `Bearer ${await mintToken({ sub: "bench", tenant: TENANT, roles: ["admin"] }, secret)}`, "content-type": "application/json" };
  const pub = await fetch(`${base}/v1/workflows`, { method: "POST", headers, body: JSON.stringify(workflowDoc()) });
  if (pub.status !== 201 && pub.status !== 200) throw new Error(`publishing the workflow answered ${pub.status}: ${await pub.text()}`);

  const client = createClient({ url });
  await new AuditStore(client).ready();
  const { rows: maxRow } = await client.execute("SELECT coalesce(max(rowid), 0) AS m FROM audit_entries");
  let lastRowid = Number(maxRow[0].m);
  const ended = new Map<string, string>();
  const waiters = new Map<string, () => void>();
  const lags: number[] = [];
  const runLags: number[] = [];
  const tenantLags: number[] = [];
  let polling = true;
  let measuring = false;
  const poller = (async () => {
    while (polling) {
      if (!sqld) return;
      const r = await client.execute({ sql: "SELECT rowid AS r, at, stream, type FROM audit_entries WHERE rowid > ? ORDER BY rowid LIMIT 20000", args: [lastRowid] });
      const now = Date.now();
      for (const row of r.rows) {
        if (measuring) {
          lags.push(now - Number(row.at));
          (String(row.stream).startsWith("run:") ? runLags : tenantLags).push(now - Number(row.at));
        }
        lastRowid = Number(row.r);
        if (row.type === "run.completed" || row.type === "run.failed") {
          const id = String(row.stream).slice(4);
          ended.set(id, String(row.type));
          waiters.get(id)?.();
        }
      }
      if (r.rows.length < 20000) await sleep(POLL_MS);
    }
  })();

  const runIds: string[] = [];
  let n = 0;
  const runOnce = async () => {
    const res = await fetch(`${base}/v1/runs`, { method: "POST", headers, body: JSON.stringify({ workflow: "bench-audit", input: { claimId: `C-${++n}`, email: `claimant${n}@example.com` } }) });
    if (res.status !== 201) throw new Error(`POST /v1/runs answered ${res.status}: ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    runIds.push(id);
    // the run is over when its last entry reaches the audit database (no API polling to load workerd)
    if (!ended.has(id)) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`run ${id}: no run.completed entry within ${RUN_DEADLINE_MS} ms`)), RUN_DEADLINE_MS);
        waiters.set(id, () => (clearTimeout(timer), resolve()));
      });
      waiters.delete(id);
    }
    if (ended.get(id) !== "run.completed") throw new Error(`run ${id} ended ${ended.get(id)}`);
  };
  // warm-up, then the measured window
  await Promise.all(Array.from({ length: 10 }, runOnce));
  await sleep(500);
  measuring = true;
  const profiler = PROFILE ? await openProfiler(inspectorPort) : null;
  log(`lag: ${IN_FLIGHT} runs in flight for ${LOAD_SECONDS} s …`);
  const until = Date.now() + LOAD_SECONDS * 1000;
  const first = runIds.length;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (Date.now() < until) await runOnce();
    }),
  );
  const runs = runIds.length - first;
  if (profiler) {
    const sp = summarizeProfile(await profiler.stop(), 25);
    console.log(`workerd CPU profile over the load: ${sp.totalMs.toFixed(0)} ms sampled, ${sp.idleMs.toFixed(0)} ms idle; ms per run, inclusive:`);
    for (const [k, v] of sp.inclusive) console.log(`  ${(v / runs).toFixed(2).padStart(7)}  ${k}`);
    console.log("  ms per run, self:");
    for (const [k, v] of sp.self) console.log(`  ${(v / runs).toFixed(2).padStart(7)}  ${k}`);
  }
  // drain: every run's stream complete (seq 1…n, with its run.completed)
  const drainStart = Date.now();
  let check: { ok: number; bad: string[] } = { ok: 0, bad: runIds };
  while (Date.now() - drainStart < DRAIN_DEADLINE_MS) {
    check = await checkStreams(client, runIds);
    if (!check.bad.length) break;
    await sleep(200);
  }
  const drainMs = Date.now() - drainStart;
  measuring = false;
  polling = false;
  await poller;
  client.close();
  await dev.stop();
  console.log(`  lag p50/p99 ms: run streams ${pct(runLags, 50)}/${pct(runLags, 99)} (${runLags.length}), tenant stream ${pct(tenantLags, 50)}/${pct(tenantLags, 99)} (${tenantLags.length})`);
  return { runs, entries: lags.length, lags, streamsOk: check.ok, streamsBad: check.bad, drainMs };
}

async function checkStreams(client: Client, runIds: string[]): Promise<{ ok: number; bad: string[] }> {
  const bad: string[] = [];
  let ok = 0;
  for (const chunk of batches(runIds, 200)) {
    const r = await client.execute({
      sql: `SELECT stream, count(*) AS n, min(seq) AS lo, max(seq) AS hi, sum(type = 'run.completed') AS completed
            FROM audit_entries e WHERE stream IN (SELECT value FROM json_each(?)) GROUP BY stream`,
      args: [JSON.stringify(chunk.map((id) => `run:${id}`))],
    });
    const got = new Map(r.rows.map((row) => [String(row.stream), row]));
    for (const id of chunk) {
      const row = got.get(`run:${id}`);
      // the budget settlements of a run's calls may follow run.completed
      if (row && Number(row.lo) === 1 && Number(row.hi) === Number(row.n) && Number(row.completed) === 1) ok++;
      else bad.push(id);
    }
  }
  return { ok, bad };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const began = performance.now();
  const tree = gitState(root);
  const db = await startBenchSqld();
  sqld = db;
  log(`sqld on ${db.url}`);

  if (ONLY_LAG) {
    await measureLag(db);
    return;
  }
  const shipping = await measureShipping();
  if (ONLY_SHIP) {
    console.table(Object.fromEntries(shipping.rows.map(([k, v]) => [k, { "entries/s": v }])));
    return;
  }
  const lag = await measureLag(db);
  await db.dispose();
  sqld = null;

  log(`verification: ${VERIFY_ENTRIES} entries …`);
  const verify = await measureVerify(VERIFY_ENTRIES);
  log(`redaction quality: ${REDACTION_RECORDS} records …`);
  const red = measureRedactionQuality(REDACTION_RECORDS);

  const m: Record<string, number> = {
    "audit.ship.entries_per_s": shipping.group,
    "audit.ship.one_shipment.entries_per_s": shipping.oneShipper,
    "audit.ship.baseline_drizzle_values.entries_per_s": shipping.baseline,
    "audit.ship.vs_baseline_ratio": r2(shipping.group / shipping.baseline),
    "audit.ship.redelivered_rows_added": shipping.redeliveryAdded,
    "audit.lag.p50_ms": pct(lag.lags, 50),
    "audit.lag.p99_ms": pct(lag.lags, 99),
    "audit.lag.max_ms": Math.max(...lag.lags),
    "audit.lag.entries": lag.entries,
    "audit.lag.runs": lag.runs,
    "audit.lag.runs_per_s": r2(lag.runs / LOAD_SECONDS),
    "audit.lag.streams_incomplete": lag.streamsBad.length,
    "audit.verify.entries_per_s": verify.cliEntriesPerS,
    "audit.verify.in_process.entries_per_s": verify.entriesPerS,
    "redaction.recall": +red.recall.toFixed(4),
    "redaction.precision": +red.precision.toFixed(4),
    "redaction.mb_per_s": +red.mbPerS.toFixed(1),
  };
  const targets: Array<[string, boolean]> = [
    ["shipping ≥ 20,000 entries/s", m["audit.ship.entries_per_s"] >= 20_000],
    ["audit lag p99 ≤ 2,000 ms", m["audit.lag.p99_ms"] <= 2000],
    ["warden audit verify ≥ 100,000 entries/s", m["audit.verify.entries_per_s"] >= 100_000],
    ["redaction recall ≥ 0.99", m["redaction.recall"] >= 0.99],
    ["redaction precision ≥ 0.98", m["redaction.precision"] >= 0.98],
    ["nothing lost, nothing doubled", shipping.allArrived && shipping.redeliveryAdded === 0 && lag.streamsBad.length === 0],
  ];

  console.log(`\naudit benchmark (${tree})`);
  console.table(Object.fromEntries(shipping.rows.map(([k, v]) => [k, { "entries/s": v }])));
  console.table({
    [`lag, ${IN_FLIGHT} runs in flight ${LOAD_SECONDS} s (${lag.runs} runs, ${lag.entries} entries)`]: { p50_ms: m["audit.lag.p50_ms"], p99_ms: m["audit.lag.p99_ms"], max_ms: m["audit.lag.max_ms"] },
  });
  console.table({ "warden audit verify --file (CLI)": { "entries/s": verify.cliEntriesPerS }, "verifyAudit (in-process)": { "entries/s": verify.entriesPerS } });
  console.table({ redaction: { recall: m["redaction.recall"], precision: m["redaction.precision"], "MB/s": m["redaction.mb_per_s"] } });
  for (const [t, ok] of targets) console.log(`  ${ok ? "met   " : "MISSED"}  ${t}`);
  if (lag.streamsBad.length) console.error(`  incomplete streams after ${lag.drainMs} ms: ${lag.streamsBad.slice(0, 5).join(", ")}`);

  if (WRITE) {
    const date = new Date().toISOString();
    writeResultsSection(m, targets, { date, tree, seconds: (performance.now() - began) / 1000, shipping: shipping.rows, perKind: red.perKind, drainMs: lag.drainMs, medianLag: median(lag.lags) });
  }
  log("done");
}

function writeResultsSection(
  m: Record<string, number>,
  targets: Array<[string, boolean]>,
  x: { date: string; tree: string; seconds: number; shipping: Array<[string, number]>; perKind: Array<{ kind: string; recall: number; precision: number }>; drainMs: number; medianLag: number },
): void {
  const section = `## audit

\`node bench/audit.ts\` (${x.date.slice(0, 10)}, tree ${x.tree}, ${x.seconds.toFixed(0)} s, 2-core noisy machine), against a local sqld the benchmark starts.

| | value |
| --- | --- |
${x.shipping.map(([k, v]) => `| shipping: ${k} | ${v} entries/s |`).join("\n")}
| lag event → row, ${IN_FLIGHT} runs in flight for ${LOAD_SECONDS} s (${m["audit.lag.runs"]} runs, ${m["audit.lag.entries"]} entries) | p50 ${m["audit.lag.p50_ms"]} ms, p99 **${m["audit.lag.p99_ms"]} ms**, max ${m["audit.lag.max_ms"]} ms |
| \`warden audit verify --file\` (CLI, end to end, ${VERIFY_ENTRIES.toLocaleString("en-US")} entries of ~2 KB) | **${m["audit.verify.entries_per_s"]} entries/s** |
| \`verifyAudit\` in-process (entries already parsed; canonical JSON re-serialized per entry) | ${m["audit.verify.in_process.entries_per_s"]} entries/s |
| redaction recall / precision (labelled corpus, near-misses included) | **${m["redaction.recall"]} / ${m["redaction.precision"]}** (${m["redaction.mb_per_s"]} MB/s) |

Group-commit shipping is **${m["audit.ship.vs_baseline_ratio"]}×** the drizzle multi-row VALUES baseline; a redelivered batch added ${m["audit.ship.redelivered_rows_added"]} rows. After the load, every run's stream was complete (seq 1…n, \`run.completed\` among them) within ${x.drainMs} ms; streams incomplete: ${m["audit.lag.streams_incomplete"]}.
Per kind (recall / precision): ${x.perKind.map((k) => `${k.kind} ${k.recall.toFixed(4)} / ${k.precision.toFixed(4)}`).join("; ")}.

Targets: ${targets.map(([t, ok]) => `${t}: ${ok ? "met" : "**missed**"}`).join("; ")}.

Definitions:
- **Shipping**: ${SHIP_ENTRIES.toLocaleString("en-US")} chained, redacted entries of ~1.2 KB per variant, each variant on a fresh sqld after 5,000 entries of warm-up, over ${SHIP_STREAMS} streams, in time order (each statement interleaves the streams, as the AuditWriter's do when many runs ship at once), already serialized as the outbox holds them, shipped from Node with \`@libsql/client/web\` over HTTP one statement at a time, of ${SHIP_BATCH} rows (what one object ships) or ${MAX_ROWS} (what the AuditWriter sends when shipments queue up): the database takes one writer (sqld answers "database is locked" to concurrent writes, and with fifty it stalls), so every Durable Object ships through the AuditWriter, which sends what has queued as one statement. entries/s = entries / wall time.
- **Lag**: for each entry, the poller's clock when a \`SELECT … WHERE rowid > ?\` every ${POLL_MS} ms first returned it, minus the entry's \`at\` (stamped in the Durable Object when the event committed; workerd's clock advances only across I/O, so \`at\` can be a little early, which only lengthens the lag). Includes the outbox's background shipment, the HTTP round trip to sqld and up to ${POLL_MS} ms of polling. Runs: three scripted model steps, PII in the input; each of ${IN_FLIGHT} clients starts its next run when the poller sees the last one's \`run.completed\` entry arrive (no API polling loads workerd).
- **Verification**: a generated export (every stream sealed, some purged prefixes) through \`warden audit verify --file … --key …\` as a child process: reading, hashing every entry, chains, Ed25519 seals and purge records, the report; entries / wall time.
`;
  writeBenchResults(root, "audit", x.date, m, section);
}

runBench(main, stopBenchServers, benchTimer);
