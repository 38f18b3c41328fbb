/**
 * One memory scope's records in Durable Object SQLite. Open ends (a record not retired, a fact
 * valid forever) are stored as END_OF_TIME so every time condition is an index range:
 * current reads are `retired_at = END` and as-of reads `retired_at > t AND recorded_at <= t`
 * over (subject, attribute, retired_at, recorded_at). Changes come from the pure planners.
 */
import { factRecordSchema, type ConflictRecord, type FactRecord, type Resolution } from "./fact-model.ts";
import type { IdSource, MemoryChange } from "./memory-plan.ts";

/** The largest time a Date can hold: "not yet" for retirements and valid-time ends. */
export const END_OF_TIME = 8_640_000_000_000_000;

type Row = Record<string, SqlStorageValue>;

const open = (t: number | null) => (t === null ? END_OF_TIME : t);
const closed = (t: number) => (t >= END_OF_TIME ? null : t);

function factOf(r: Row): FactRecord {
  return factRecordSchema.parse({
    id: r.id,
    subject: r.subject,
    attribute: r.attribute,
    value: r.value === null ? null : JSON.parse(r.value as string),
    erased: r.erased === 1,
    provenance: JSON.parse(r.provenance as string),
    recordedAt: r.recorded_at,
    retiredAt: closed(r.retired_at as number),
    retiredReason: r.retired_reason,
    validFrom: r.valid_from,
    validTo: closed(r.valid_to as number),
    status: r.status,
    supersedes: r.supersedes,
    freshForMs: r.fresh_for_ms,
  });
}

function conflictOf(r: Row): ConflictRecord {
  return {
    id: r.id as number,
    subject: r.subject as string,
    attribute: r.attribute as string,
    existingId: r.existing_id as number,
    proposedId: r.proposed_id as number,
    detectedAt: r.detected_at as number,
    resolvedAt: r.resolved_at as number | null,
    resolution: r.resolution === null ? null : (JSON.parse(r.resolution as string) as Resolution),
  };
}

export interface FactQuery {
  subject?: string;
  attributes?: readonly string[];
  /** transaction time; undefined: what is held now */
  asOf?: number;
}

export class MemoryStore implements IdSource {
  private lastFact: number;
  private lastConflict: number;

  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS facts (
      id INTEGER PRIMARY KEY, subject TEXT NOT NULL, attribute TEXT NOT NULL, value TEXT, erased INTEGER NOT NULL DEFAULT 0,
      provenance TEXT NOT NULL, recorded_at INTEGER NOT NULL, retired_at INTEGER NOT NULL, retired_reason TEXT,
      valid_from INTEGER NOT NULL, valid_to INTEGER NOT NULL, status TEXT NOT NULL, supersedes INTEGER, fresh_for_ms INTEGER)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS facts_by_attribute ON facts (subject, attribute, retired_at, recorded_at)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS facts_by_subject ON facts (subject, retired_at, recorded_at)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS facts_by_time ON facts (retired_at, recorded_at)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS conflicts (
      id INTEGER PRIMARY KEY, subject TEXT NOT NULL, attribute TEXT NOT NULL, existing_id INTEGER NOT NULL, proposed_id INTEGER NOT NULL,
      detected_at INTEGER NOT NULL, resolved_at INTEGER, resolution TEXT, indexed INTEGER NOT NULL DEFAULT 0)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS conflicts_open ON conflicts (resolved_at, id)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS conflicts_by_proposed ON conflicts (proposed_id)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS conflicts_by_existing ON conflicts (existing_id)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS conflicts_unindexed ON conflicts (indexed) WHERE indexed = 0`);
    // idempotency: a retried write (same key) answers with the records it made, re-read (erased values stay erased)
    sql.exec(`CREATE TABLE IF NOT EXISTS requests (key TEXT PRIMARY KEY, at INTEGER NOT NULL, result TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`);
    this.lastFact = (sql.exec(`SELECT coalesce(max(id), 0) AS n FROM facts`).one().n as number) ?? 0;
    this.lastConflict = (sql.exec(`SELECT coalesce(max(id), 0) AS n FROM conflicts`).one().n as number) ?? 0;
  }

  fact(): number {
    return ++this.lastFact;
  }

  conflict(): number {
    return ++this.lastConflict;
  }

  /** After a rolled-back transaction the counters are read again. */
  resync(): void {
    this.lastFact = this.sql.exec(`SELECT coalesce(max(id), 0) AS n FROM facts`).one().n as number;
    this.lastConflict = this.sql.exec(`SELECT coalesce(max(id), 0) AS n FROM conflicts`).one().n as number;
  }

  meta(k: string): string | null {
    const r = this.sql.exec(`SELECT v FROM meta WHERE k = ?`, k).toArray()[0];
    return r ? (r.v as string) : null;
  }

  setMeta(k: string, v: string): void {
    this.sql.exec(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, k, v);
  }

  apply(changes: readonly MemoryChange[]): void {
    for (const ch of changes) {
      switch (ch.kind) {
        case "insert_fact": {
          const f = ch.fact;
          this.sql.exec(
            `INSERT INTO facts (id, subject, attribute, value, erased, provenance, recorded_at, retired_at, retired_reason, valid_from, valid_to, status, supersedes, fresh_for_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            f.id, f.subject, f.attribute, f.erased ? null : JSON.stringify(f.value), f.erased ? 1 : 0, JSON.stringify(f.provenance), f.recordedAt, open(f.retiredAt), f.retiredReason, f.validFrom, open(f.validTo), f.status, f.supersedes, f.freshForMs,
          );
          break;
        }
        case "retire_fact":
          this.sql.exec(`UPDATE facts SET retired_at = ?, retired_reason = ? WHERE id = ? AND retired_at = ?`, ch.at, ch.reason, ch.id, END_OF_TIME);
          break;
        case "erase_fact":
          this.sql.exec(`UPDATE facts SET value = NULL, erased = 1 WHERE id = ?`, ch.id);
          break;
        case "insert_conflict": {
          const c = ch.conflict;
          this.sql.exec(`INSERT INTO conflicts (id, subject, attribute, existing_id, proposed_id, detected_at) VALUES (?, ?, ?, ?, ?, ?)`, c.id, c.subject, c.attribute, c.existingId, c.proposedId, c.detectedAt);
          break;
        }
        case "resolve_conflict":
          this.sql.exec(`UPDATE conflicts SET resolved_at = ?, resolution = ?, indexed = 0 WHERE id = ? AND resolved_at IS NULL`, ch.at, JSON.stringify(ch.resolution), ch.id);
          break;
      }
    }
  }

  /** Records of one subject and attribute not retired (believed and contested). */
  current(subject: string, attribute: string): FactRecord[] {
    return this.sql.exec(`SELECT * FROM facts WHERE subject = ? AND attribute = ? AND retired_at = ?`, subject, attribute, END_OF_TIME).toArray().map(factOf);
  }

  /** Records held at `asOf` (default: now), by subject and attributes. */
  held(q: FactQuery): FactRecord[] {
    const t = q.asOf;
    const time = t === undefined ? { where: `retired_at = ?`, args: [END_OF_TIME] } : { where: `retired_at > ? AND recorded_at <= ?`, args: [t, t] };
    const rows: Row[] = [];
    if (q.subject !== undefined && q.attributes?.length) {
      for (const a of q.attributes) rows.push(...this.sql.exec(`SELECT * FROM facts WHERE subject = ? AND attribute = ? AND ${time.where}`, q.subject, a, ...time.args).toArray());
    } else if (q.subject !== undefined) {
      rows.push(...this.sql.exec(`SELECT * FROM facts WHERE subject = ? AND ${time.where}`, q.subject, ...time.args).toArray());
    } else {
      const attrs = q.attributes?.length ? q.attributes : null;
      for (const r of this.sql.exec(`SELECT * FROM facts WHERE ${time.where}`, ...time.args)) if (!attrs || attrs.includes(r.attribute as string)) rows.push(r);
    }
    return rows.map(factOf);
  }

  factById(id: number): FactRecord | undefined {
    const r = this.sql.exec(`SELECT * FROM facts WHERE id = ?`, id).toArray()[0];
    return r ? factOf(r) : undefined;
  }

  factsByIds(ids: readonly number[]): FactRecord[] {
    return ids.map((id) => this.factById(id)).filter((f): f is FactRecord => !!f);
  }

  /** Every record of a subject (optionally one attribute), at any time: what an erasure covers. */
  allOf(subject: string, attribute?: string): FactRecord[] {
    const rows = attribute === undefined ? this.sql.exec(`SELECT * FROM facts WHERE subject = ?`, subject) : this.sql.exec(`SELECT * FROM facts WHERE subject = ? AND attribute = ?`, subject, attribute);
    return rows.toArray().map(factOf);
  }

  conflictById(id: number): ConflictRecord | undefined {
    const r = this.sql.exec(`SELECT * FROM conflicts WHERE id = ?`, id).toArray()[0];
    return r ? conflictOf(r) : undefined;
  }

  conflictsByIds(ids: readonly number[]): ConflictRecord[] {
    return ids.map((id) => this.conflictById(id)).filter((c): c is ConflictRecord => !!c);
  }

  /** Open conflicts in which a record is the proposed or the existing fact. */
  openConflictsOf(factId: number): ConflictRecord[] {
    return this.sql.exec(`SELECT * FROM conflicts WHERE resolved_at IS NULL AND (proposed_id = ? OR existing_id = ?)`, factId, factId).toArray().map(conflictOf);
  }

  listConflicts(q: { status: "open" | "resolved" | "all"; limit: number }): ConflictRecord[] {
    const where = q.status === "open" ? "WHERE resolved_at IS NULL" : q.status === "resolved" ? "WHERE resolved_at IS NOT NULL" : "";
    return this.sql.exec(`SELECT * FROM conflicts ${where} ORDER BY id DESC LIMIT ?`, q.limit).toArray().map(conflictOf);
  }

  unindexedConflicts(limit: number): ConflictRecord[] {
    return this.sql.exec(`SELECT * FROM conflicts WHERE indexed = 0 ORDER BY id LIMIT ?`, limit).toArray().map(conflictOf);
  }

  markIndexed(conflicts: readonly ConflictRecord[]): void {
    // only the version that was sent: a resolution recorded meanwhile stays unindexed
    for (const c of conflicts) this.sql.exec(`UPDATE conflicts SET indexed = 1 WHERE id = ? AND resolved_at IS ?`, c.id, c.resolvedAt);
  }

  request(key: string): { factIds: number[]; retired: Array<{ id: number; reason: string }>; conflictIds: number[] } | null {
    const r = this.sql.exec(`SELECT result FROM requests WHERE key = ?`, key).toArray()[0];
    return r ? JSON.parse(r.result as string) : null;
  }

  saveRequest(key: string, at: number, result: { factIds: number[]; retired: Array<{ id: number; reason: string }>; conflictIds: number[] }): void {
    this.sql.exec(`INSERT INTO requests (key, at, result) VALUES (?, ?, ?)`, key, at, JSON.stringify(result));
  }
}
