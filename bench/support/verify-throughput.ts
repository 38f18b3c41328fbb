/**
 * Audit verification throughput: builds a realistic export (by default 200,000 entries over
 * 2,000 run streams, payloads of 1–2 KB as the database stores them, every stream's head sealed,
 * a purged prefix on some streams) in a temp dir, then times `verifyAudit` in-process and the CLI
 * (`warden audit verify --file … --key …`, a child process, end to end: reading, parsing,
 * hashing, signatures, report).
 * Run alone: `node bench/support/verify-throughput.ts [entries]` (prints a small table).
 */
import { spawnSync } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { canonicalJson } from "../../src/engine/canonical-json.ts";
import { EMPTY_HEAD, extendChain, type AuditEntry, type AuditRecord } from "../../src/audit/audit-entry.ts";
import { entryExportLine, type PurgeRecord, type SealRecord } from "../../src/audit/audit-rows.ts";
import { generateSigningKeySecret, signingKey, signPurge, signSeal } from "../../src/audit/seal.ts";
import { verifyAudit } from "../../src/audit/verify.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const T0 = Date.UTC(2026, 0, 1);
const WORDS = "claim policy payout review fraud score customer invoice approve reject limit amount region model tool agent branch retry escalate document".split(" ");

/** A deterministic pseudo-random generator (mulberry32), so runs are comparable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function text(r: () => number, chars: number): string {
  const out: string[] = [];
  let n = 0;
  while (n < chars) {
    const w = WORDS[Math.floor(r() * WORDS.length)];
    out.push(w);
    n += w.length + 1;
  }
  return out.join(" ");
}

/** An audit payload of 1–2 KB shaped like a run event's (an LLM call with a tool call and a policy decision). */
function payload(r: () => number, seq: number): unknown {
  const size = 1000 + Math.floor(r() * 1000);
  const value = {
    eventSeq: seq,
    node: "assess",
    callId: `call_${seq}`,
    response: {
      text: text(r, size - 700),
      toolCalls: [{ id: `t${seq}`, name: "lookup", args: { claimId: `C-${Math.floor(r() * 1e6)}`, amount: Math.round(r() * 1e5) / 100, tags: ["priority", "eu"] } }],
      usage: { inputTokens: Math.floor(r() * 4000), outputTokens: Math.floor(r() * 800) },
    },
    decision: { effect: "allow", rules: ["limits.max_payout", "tools.allowed"], reason: text(r, 120) },
    context: { host: "claims.example", model: "gpt-4.1-mini", attempt: 1, cached: false, region: null, note: text(r, 200) },
  };
  // as read back from the database or an export: canonical JSON, parsed
  return JSON.parse(canonicalJson(value));
}

export interface BuiltExport {
  file: string;
  keyFile: string;
  entries: AuditEntry[];
  seals: SealRecord[];
  purges: PurgeRecord[];
  publicKey: Record<string, unknown>;
}

/** Writes an export of `entries` entries over `streams` streams to `dir` (plus the public key file). */
export async function buildExport(dir: string, entries = 200_000, streams = Math.max(1, Math.round(entries / 100))): Promise<BuiltExport> {
  const key = await signingKey(await generateSigningKeySecret("audit-bench"));
  const r = rng(42);
  const all: AuditEntry[] = [];
  const seals: SealRecord[] = [];
  const purges: PurgeRecord[] = [];
  const per = Math.floor(entries / streams);
  for (let s = 0; s < streams; s++) {
    const n = per + (s < entries - per * streams ? 1 : 0);
    const runId = `run_${String(s).padStart(8, "0")}bench`;
    const stream = `run:${runId}`;
    const records: AuditRecord[] = [];
    for (let i = 1; i <= n; i++) {
      records.push({
        tenant: "bench",
        stream,
        at: T0 + s * 1000 + i,
        runId,
        workflow: { id: "claims", version: 3, hash: `sha256:${"ab".repeat(32)}` },
        actor: i === 1 ? { kind: "user", id: "ana@bench.test" } : { kind: "system", id: "warden" },
        type: i === 1 ? "run.started" : "llm.completed",
        payload: payload(r, i),
        policyHash: `sha256:${"cd".repeat(32)}`,
        redactions: i % 7 === 0 ? [{ kind: "email", path: "response.text" }] : [],
        retainUntil: T0 + 400 * 86_400_000,
      });
    }
    const { entries: chain, head } = extendChain(EMPTY_HEAD, records);
    // every tenth stream had its first ten entries purged
    let kept = chain;
    if (s % 10 === 0 && chain.length > 20) {
      purges.push(await signPurge(key, { tenant: "bench", stream, fromSeq: 1, toSeq: 10, count: 10, lastHash: chain[9].hash, purgedAt: T0 + 500 * 86_400_000 }));
      kept = chain.slice(10);
    }
    if (head.seq > 0) seals.push(await signSeal(key, { tenant: "bench", stream, seq: head.seq, hash: head.hash, sealedAt: T0 + 1 }));
    for (const e of kept) all.push(e);
  }
  const file = join(dir, "export.jsonl");
  const out = createWriteStream(file);
  const writeText = (text: string) => (out.write(`${text}\n`) ? undefined : new Promise<void>((done) => out.once("drain", () => done())));
  const write = (line: unknown) => writeText(JSON.stringify(line));
  await write({ kind: "key", jwk: key.publicJwk });
  // exactly as GET /v1/audit/export writes them
  for (const e of all) await writeText(entryExportLine(e));
  for (const s of seals) await write({ kind: "seal", ...s });
  for (const p of purges) await write({ kind: "purge", ...p });
  await new Promise<void>((done, fail) => out.end((err?: Error | null) => (err ? fail(err) : done())));
  const keyFile = join(dir, "audit-key.json");
  writeFileSync(keyFile, JSON.stringify({ keys: [key.publicJwk] }));
  return { file, keyFile, entries: all, seals, purges, publicKey: key.publicJwk };
}

/** Verification throughput in-process (`verifyAudit`) and through the CLI, in entries per second. */
export async function measureVerify(entries = 200_000): Promise<{ entriesPerS: number; cliEntriesPerS: number; entries: number }> {
  const dir = mkdtempSync(join(tmpdir(), "warden-verify-bench-"));
  try {
    const built = await buildExport(dir, entries);
    const input = { entries: built.entries, seals: built.seals, purges: built.purges, publicKeys: [built.publicKey] };
    await verifyAudit({ ...input, entries: built.entries.slice(0, 2000) }); // warm-up
    const t = performance.now();
    const report = await verifyAudit(input);
    const seconds = (performance.now() - t) / 1000;
    if (!report.ok) throw new Error(`the benchmark's own export does not verify: ${report.problems[0]?.message}`);

    const c = performance.now();
    const cli = spawnSync(process.execPath, [join(ROOT, "cli/warden.mjs"), "audit", "verify", "--file", built.file, "--key", built.keyFile, "--json"], { encoding: "utf8", maxBuffer: 1 << 26 });
    const cliSeconds = (performance.now() - c) / 1000;
    if (cli.status !== 0) throw new Error(`warden audit verify exited ${cli.status}: ${cli.stderr || cli.stdout.slice(0, 2000)}`);
    const parsed = JSON.parse(cli.stdout) as { entries: number; ok: boolean };
    if (!parsed.ok || parsed.entries !== built.entries.length) throw new Error(`the CLI reported ${parsed.entries} entries, ok ${parsed.ok}`);
    return { entriesPerS: Math.round(built.entries.length / seconds), cliEntriesPerS: Math.round(built.entries.length / cliSeconds), entries: built.entries.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main || process.argv[1] === import.meta.filename) {
  const n = Number(process.argv[2] ?? 200_000);
  const r = await measureVerify(n);
  console.log(`audit verification of ${r.entries.toLocaleString("en-US")} entries (payloads of 1–2 KB, every stream sealed)`);
  console.table({ "verifyAudit (in-process)": { "entries/s": r.entriesPerS }, "warden audit verify --file (CLI, end to end)": { "entries/s": r.cliEntriesPerS } });
}
