/**
 * The audit database: a libSQL server (sqld locally, Turso or self-hosted sqld in production),
 * reached over HTTP with @libsql/client/web (the same from a Worker, the CLI and tests).
 * Schema in src/audit/audit-schema.ts, migrations in migrations/ (applied once per isolate).
 *
 * Writes are `INSERT … ON CONFLICT DO NOTHING` keyed by entry id, so a redelivered batch
 * changes nothing. Every read is filtered by tenant.
 */
import { createClient, type Client } from "@libsql/client/web";
import { and, asc, eq, gt, gte, lte, or, sql, type SQL } from "drizzle-orm";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { drizzle } from "drizzle-orm/libsql/web";
import { MIGRATIONS, type Migration } from "../../migrations/migrations.ts";
import type { AuditEntry } from "./audit-entry.ts";
import { ENTRY_COLUMNS, entryToRowJson, rowToEntry, rowToPurge, rowToSeal, type PurgeRecord, type SealRecord } from "./audit-rows.ts";
import { runStream, tenantStream } from "./audit-streams.ts";
import { auditEntries, auditHoldReleases, auditHolds, auditPurges, auditSeals } from "./audit-schema.ts";

export interface AuditDbEnv {
  AUDIT_DB_URL?: string;
  AUDIT_DB_TOKEN?: string;
}

export interface EntryQuery {
  tenant: string;
  run?: string;
  stream?: string;
  type?: string;
  from?: number;
  to?: number;
  /** resume after this (at, stream, seq) */
  after?: [number, string, number];
  limit: number;
}

export interface Hold {
  id: string;
  tenant: string;
  scope: "run" | "workflow" | "tenant";
  scopeId: string;
  reason: string;
  placedBy: string;
  placedAt: number;
  released: { by: string; at: number; reason: string } | null;
}

/**
 * `INSERT … SELECT` from one JSON parameter holding every row: one string for the server to parse
 * instead of 18 bound values per row (about 1.6× the entries/s of multi-row VALUES). Each row is
 * converted to JSONB once (a materialized CTE) so the 18 column extractions do not re-parse its text.
 */
const INSERT_FROM_JSON = `WITH r AS MATERIALIZED (SELECT jsonb(j.value) AS b FROM json_each(?) AS j)
  INSERT INTO audit_entries (${ENTRY_COLUMNS.join(", ")})
  SELECT ${ENTRY_COLUMNS.map((_, i) => `r.b ->> ${i}`).join(", ")} FROM r WHERE true
  ON CONFLICT (stream, seq) DO NOTHING`;

const BUSY_RETRIES = 30;
/** sqld's limit on one statement parameter is 5,000,000 bytes; keep a margin. */
const MAX_PARAM_BYTES = 4_500_000;
const utf8Length = (text: string) => new TextEncoder().encode(text).length;
const isBusy = (err: unknown) => /SQLITE_BUSY|database is locked/i.test(String((err as { code?: string })?.code ?? "") + String((err as Error)?.message ?? ""));

export class AuditStore {
  readonly client: Client;
  readonly db: LibSQLDatabase;
  private migrated: Promise<void> | null = null;

  private readonly url: string;

  constructor(client: Client, url = "") {
    this.client = client;
    this.url = url;
    this.db = drizzle(client);
  }

  /** Applies missing migrations (once per isolate and database; retried after a failure). */
  ready(): Promise<void> {
    if (this.url && migratedUrls.has(this.url)) return Promise.resolve();
    this.migrated ??= migrate(this.client).then(
      () => {
        if (this.url) migratedUrls.add(this.url);
      },
      (err: unknown) => {
        this.migrated = null;
        throw err;
      },
    );
    return this.migrated;
  }

  /** Writes entries in one transaction; entries already there (same id) are left as they are. */
  async insertEntries(entries: AuditEntry[]): Promise<void> {
    await this.insertRows(entries.map(entryToRowJson));
  }

  /** The same, for rows already serialized by `entryToRowJson` (the outbox keeps them that way). One statement, one transaction. */
  async insertRows(rows: string[]): Promise<void> {
    if (!rows.length) return;
    await this.ready();
    const param = `[${rows.join(",")}]`;
    // libSQL refuses a parameter over 5 MB: halve until each part fits
    if (rows.length > 1 && param.length > MAX_PARAM_BYTES / 3 && utf8Length(param) > MAX_PARAM_BYTES) {
      const half = rows.length >> 1;
      await this.insertRows(rows.slice(0, half));
      await this.insertRows(rows.slice(half));
      return;
    }
    const stmt = { sql: INSERT_FROM_JSON, args: [param] };
    // SQLite has one writer: another client's write (the seal job, a second deployment) answers
    // "database is locked" at once rather than waiting, so wait a little and try again
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.execute(stmt);
        return;
      } catch (err) {
        if (attempt >= BUSY_RETRIES || !isBusy(err)) throw err;
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 10 * Math.min(attempt, 8)));
      }
    }
  }

  async entries(q: EntryQuery): Promise<AuditEntry[]> {
    await this.ready();
    const where: SQL[] = [eq(auditEntries.tenant, q.tenant)];
    // a run's entries: its own stream, and reads of it on the tenant's (both through the (stream, seq) index)
    if (q.run) where.push(or(eq(auditEntries.stream, runStream(q.run)), and(eq(auditEntries.stream, tenantStream(q.tenant)), eq(auditEntries.runId, q.run)))!);
    if (q.stream) where.push(eq(auditEntries.stream, q.stream));
    if (q.type) where.push(q.type.endsWith("*") ? sql`${auditEntries.type} LIKE ${q.type.slice(0, -1).replace(/[%_]/g, "") + "%"}` : eq(auditEntries.type, q.type));
    if (q.from !== undefined) where.push(gte(auditEntries.at, q.from));
    if (q.to !== undefined) where.push(lte(auditEntries.at, q.to));
    if (q.after) {
      const [at, stream, seq] = q.after;
      where.push(or(gt(auditEntries.at, at), and(eq(auditEntries.at, at), or(gt(auditEntries.stream, stream), and(eq(auditEntries.stream, stream), gt(auditEntries.seq, seq)))))!);
    }
    const rows = await this.db.select().from(auditEntries).where(and(...where)).orderBy(asc(auditEntries.at), asc(auditEntries.stream), asc(auditEntries.seq)).limit(q.limit);
    return rows.map((r) => rowToEntry(camelToRow(r)));
  }

  /** One stream's entries in seq order, from `afterSeq` on. */
  async streamEntries(tenant: string, stream: string, afterSeq: number, limit: number): Promise<AuditEntry[]> {
    await this.ready();
    const rows = await this.db.select().from(auditEntries).where(and(eq(auditEntries.tenant, tenant), eq(auditEntries.stream, stream), gt(auditEntries.seq, afterSeq))).orderBy(asc(auditEntries.seq)).limit(limit);
    return rows.map((r) => rowToEntry(camelToRow(r)));
  }

  async seals(tenant: string, stream?: string): Promise<SealRecord[]> {
    await this.ready();
    const rows = await this.db.select().from(auditSeals).where(stream ? and(eq(auditSeals.tenant, tenant), eq(auditSeals.stream, stream)) : eq(auditSeals.tenant, tenant)).orderBy(asc(auditSeals.stream), asc(auditSeals.seq));
    return rows.map((r) => rowToSeal(camelToRow(r)));
  }

  async purges(tenant: string, stream?: string): Promise<PurgeRecord[]> {
    await this.ready();
    const rows = await this.db.select().from(auditPurges).where(stream ? and(eq(auditPurges.tenant, tenant), eq(auditPurges.stream, stream)) : eq(auditPurges.tenant, tenant)).orderBy(asc(auditPurges.stream), asc(auditPurges.fromSeq));
    return rows.map((r) => rowToPurge(camelToRow(r)));
  }

  /** Streams whose head is not sealed yet (at most `limit`), with that head. */
  async unsealedHeads(limit: number): Promise<Array<{ tenant: string; stream: string; seq: number; hash: string }>> {
    await this.ready();
    const r = await this.client.execute({
      sql: `SELECT e.tenant, e.stream, e.seq, e.hash FROM audit_entries e
            JOIN (SELECT stream, MAX(seq) AS m FROM audit_entries GROUP BY stream) h ON e.stream = h.stream AND e.seq = h.m
            WHERE NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.stream = e.stream AND s.seq >= e.seq)
            LIMIT ?`,
      args: [limit],
    });
    return r.rows.map((x) => ({ tenant: String(x.tenant), stream: String(x.stream), seq: Number(x.seq), hash: String(x.hash) }));
  }

  async insertSeals(seals: SealRecord[]): Promise<void> {
    if (!seals.length) return;
    await this.ready();
    await this.db
      .insert(auditSeals)
      .values(seals.map((s) => ({ id: s.id, tenant: s.tenant, stream: s.stream, seq: s.seq, hash: s.hash, sealedAt: s.sealedAt, kid: s.kid, jws: s.jws })))
      .onConflictDoNothing({ target: auditSeals.id });
  }

  /**
   * Streams with a prefix that retention allows to purge now: every entry from the stream's
   * first up to `toSeq` is past retain_until, and no unreleased hold covers the stream.
   */
  async purgeCandidates(now: number, limit: number): Promise<Array<{ tenant: string; stream: string; fromSeq: number; toSeq: number; count: number; lastHash: string }>> {
    await this.ready();
    const r = await this.client.execute({
      sql: `WITH s AS (
              SELECT stream, tenant, MIN(seq) AS first_seq,
                     COALESCE((SELECT MIN(k.seq) - 1 FROM audit_entries k WHERE k.stream = a.stream AND k.retain_until > ?), MAX(seq)) AS last_expired
              FROM audit_entries a WHERE retain_until <= ? GROUP BY stream, tenant)
            SELECT s.tenant, s.stream, s.first_seq, s.last_expired,
                   (SELECT COUNT(*) FROM audit_entries c WHERE c.stream = s.stream AND c.seq BETWEEN s.first_seq AND s.last_expired) AS n,
                   (SELECT hash FROM audit_entries h WHERE h.stream = s.stream AND h.seq = s.last_expired) AS last_hash
            FROM s
            WHERE s.last_expired >= s.first_seq
              AND NOT EXISTS (
                SELECT 1 FROM audit_holds h JOIN audit_entries e ON e.stream = s.stream AND e.seq BETWEEN s.first_seq AND s.last_expired
                WHERE h.tenant = s.tenant AND NOT EXISTS (SELECT 1 FROM audit_hold_releases r WHERE r.hold_id = h.id)
                  AND (h.scope = 'tenant' OR (h.scope = 'run' AND h.scope_id = e.run_id) OR (h.scope = 'workflow' AND h.scope_id = e.workflow_id)))
            LIMIT ?`,
      args: [now, now, limit],
    });
    return r.rows
      .filter((x) => x.last_hash !== null)
      .map((x) => ({ tenant: String(x.tenant), stream: String(x.stream), fromSeq: Number(x.first_seq), toSeq: Number(x.last_expired), count: Number(x.n), lastHash: String(x.last_hash) }));
  }

  /** Writes the purge record and deletes its range in one transaction (the database's trigger checks every row). */
  async purge(p: PurgeRecord): Promise<void> {
    await this.ready();
    await this.client.batch(
      [
        { sql: `INSERT INTO audit_purges (id, tenant, stream, from_seq, to_seq, count, last_hash, purged_at, kid, jws) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args: [p.id, p.tenant, p.stream, p.fromSeq, p.toSeq, p.count, p.lastHash, p.purgedAt, p.kid, p.jws] },
        { sql: `DELETE FROM audit_entries WHERE stream = ? AND seq BETWEEN ? AND ?`, args: [p.stream, p.fromSeq, p.toSeq] },
      ],
      "write",
    );
  }

  async placeHold(h: Omit<Hold, "released">): Promise<void> {
    await this.ready();
    await this.db.insert(auditHolds).values({ id: h.id, tenant: h.tenant, scope: h.scope, scopeId: h.scopeId, reason: h.reason, placedBy: h.placedBy, placedAt: h.placedAt });
  }

  /** Releases a hold; false when there is no such unreleased hold for this tenant. */
  async releaseHold(tenant: string, id: string, by: string, reason: string, at: number): Promise<boolean> {
    await this.ready();
    const held = await this.db.select({ id: auditHolds.id }).from(auditHolds).where(and(eq(auditHolds.tenant, tenant), eq(auditHolds.id, id)));
    if (!held.length) return false;
    const r = await this.db.insert(auditHoldReleases).values({ holdId: id, releasedBy: by, releasedAt: at, reason }).onConflictDoNothing({ target: auditHoldReleases.holdId });
    return r.rowsAffected > 0;
  }

  async holds(tenant: string): Promise<Hold[]> {
    await this.ready();
    const rows = await this.db
      .select({ h: auditHolds, r: auditHoldReleases })
      .from(auditHolds)
      .leftJoin(auditHoldReleases, eq(auditHoldReleases.holdId, auditHolds.id))
      .where(eq(auditHolds.tenant, tenant))
      .orderBy(asc(auditHolds.placedAt));
    return rows.map(({ h, r }) => ({ ...h, released: r ? { by: r.releasedBy, at: r.releasedAt, reason: r.reason } : null }));
  }
}

/** drizzle hands rows back with the schema's property names; the row mapping speaks column names. */
function camelToRow(r: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  return out;
}

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS warden_migrations (tag TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`;

/** Applies the bundled migrations that this database has not had, each in its own transaction. */
export async function migrate(client: Client, migrations: Migration[] = MIGRATIONS): Promise<string[]> {
  await client.execute(MIGRATIONS_TABLE);
  const done = new Set((await client.execute(`SELECT tag FROM warden_migrations`)).rows.map((r) => String(r.tag)));
  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.tag)) continue;
    try {
      await client.batch([...m.statements, { sql: `INSERT INTO warden_migrations (tag, applied_at) VALUES (?, ?)`, args: [m.tag, Date.now()] }], "write");
      applied.push(m.tag);
    } catch (err) {
      // another isolate may have applied it first
      const again = await client.execute({ sql: `SELECT 1 FROM warden_migrations WHERE tag = ?`, args: [m.tag] });
      if (!again.rows.length) throw err;
    }
  }
  return applied;
}

/** Databases this isolate has already brought up to date (plain strings: nothing here belongs to one request or object). */
const migratedUrls = new Set<string>();

/**
 * An audit store for the caller's own execution context. Workers forbid an I/O object (a pending
 * fetch, a promise's resolver) made for one Durable Object or request from being used by another,
 * so each object and each request holds its own client; only the "migrations applied" fact is
 * shared across the isolate.
 */
export function auditStore(env: AuditDbEnv): AuditStore {
  const url = env.AUDIT_DB_URL;
  if (!url) throw new Error("AUDIT_DB_URL is not set: the audit trail has nowhere to go");
  return new AuditStore(createClient({ url, authToken: env.AUDIT_DB_TOKEN || undefined }), url);
}
