/**
 * How the audit store writes to a real sqld: a shipment larger than libSQL's 5 MB parameter
 * limit is split and lands whole; a redelivered shipment adds nothing; a database made by the
 * earlier migrations keeps its rows and its append-only triggers through the rebuild of 0002.
 */
import { createClient } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EMPTY_HEAD, extendChain, type AuditRecord } from "../../src/audit/audit-entry.ts";
import { entryToRowJson } from "../../src/audit/audit-rows.ts";
import { AuditStore, migrate } from "../../src/audit/audit-store.ts";
import { ENTRY_COLUMNS } from "../../src/audit/audit-rows.ts";
import { MIGRATIONS } from "../../migrations/migrations.ts";
import { startSqld, type Sqld } from "../support/sqld.ts";

let sqld: Sqld;
let store: AuditStore;
beforeAll(async () => {
  sqld = await startSqld();
  store = new AuditStore(createClient({ url: sqld.url }));
  await store.ready();
});
afterAll(async () => {
  await sqld?.dispose();
});

function rows(stream: string, n: number, text: string): string[] {
  const records: AuditRecord[] = Array.from({ length: n }, (_, i) => ({
    tenant: "acme",
    stream,
    at: 1_700_000_000_000 + i,
    runId: stream.slice(4),
    workflow: null,
    actor: { kind: "system", id: "warden" },
    type: "node.completed",
    payload: { i, text },
    policyHash: null,
    redactions: [],
    retainUntil: 1_800_000_000_000,
  }));
  return extendChain(EMPTY_HEAD, records).entries.map(entryToRowJson);
}

const count = async (stream: string) => Number((await store.client.execute({ sql: "SELECT count(*) AS n FROM audit_entries WHERE stream = ?", args: [stream] })).rows[0].n);

describe("AuditStore.insertRows against sqld", () => {
  it("splits a shipment over libSQL's parameter limit and writes every row", async () => {
    // 2,000 rows of ~3 KB of UTF-8 (two bytes a character): ~6 MB in one call
    const big = rows("run:big", 2000, "é".repeat(1500));
    expect(new TextEncoder().encode(big.join(",")).length).toBeGreaterThan(5_000_000);
    await store.insertRows(big);
    expect(await count("run:big")).toBe(2000);
  });

  it("adds nothing when a shipment is delivered twice", async () => {
    const r = rows("run:twice", 50, "y");
    await store.insertRows(r);
    await store.insertRows(r.slice(10, 40));
    expect(await count("run:twice")).toBe(50);
  });

  it("keeps a database's rows and its append-only rules across the migration to the (stream, seq) key", async () => {
    const old = await startSqld();
    try {
      const client = createClient({ url: old.url });
      const before = MIGRATIONS.findIndex((m) => m.tag.startsWith("0002_"));
      expect(before).toBeGreaterThan(0);
      await migrate(client, MIGRATIONS.slice(0, before));
      const r = rows("run:old", 20, "z");
      await client.execute({ sql: `INSERT INTO audit_entries (${ENTRY_COLUMNS.join(", ")}) SELECT ${ENTRY_COLUMNS.map((_, i) => `j.value ->> ${i}`).join(", ")} FROM json_each(?) AS j`, args: [`[${r.join(",")}]`] });
      expect(await migrate(client)).toEqual(MIGRATIONS.slice(before).map((m) => m.tag));
      const upgraded = new AuditStore(client);
      expect(Number((await client.execute("SELECT count(*) AS n FROM audit_entries")).rows[0].n)).toBe(20);
      await upgraded.insertRows([...r, ...rows("run:old", 25, "z").slice(20)]); // a redelivery plus five new
      expect(Number((await client.execute("SELECT count(*) AS n FROM audit_entries")).rows[0].n)).toBe(25);
      await expect(client.execute("UPDATE audit_entries SET payload = '{}' WHERE seq = 1")).rejects.toThrow(/append-only/);
      await expect(client.execute("DELETE FROM audit_entries WHERE seq = 1")).rejects.toThrow(/append-only/);
      const indexes = (await client.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_entries' AND name NOT LIKE 'sqlite_%' ORDER BY name")).rows.map((x) => x.name);
      expect(indexes).toEqual(["audit_entries_retain", "audit_entries_stream_seq", "audit_entries_tenant_at"]);
      client.close();
    } finally {
      await old.dispose();
    }
  });
});
