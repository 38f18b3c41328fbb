/**
 * How the audit store writes to a real sqld: a shipment larger than libSQL's 5 MB parameter
 * limit is split and lands whole; a redelivered shipment adds nothing.
 */
import { createClient } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EMPTY_HEAD, extendChain, type AuditRecord } from "../../src/audit/audit-entry.ts";
import { entryToRowJson } from "../../src/audit/audit-rows.ts";
import { AuditStore } from "../../src/audit/audit-store.ts";
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
});
