/**
 * The run's SQLite tables inside its Durable Object: the event log (the truth), the timers
 * table (multiplexed onto the one alarm), and the outbox (at-least-once delivery).
 * A DO row holds at most 2 MB, so event data above CHUNK_CHARS is split across rows.
 * All writes are synchronous; callers group them in one transactionSync.
 */
import type { RunEvent } from "../engine/events.ts";

export const CHUNK_CHARS = 512 * 1024;
export const MAX_EVENT_CHARS = 32 * 1024 * 1024;

export interface StoredEventRow {
  seq: number;
  type: string;
  at: number;
  data: unknown;
}

export class RunLogStore {
  private readonly sql: SqlStorage;
  /** Creates the schema on first use: one statement batch (a new run's object creates it once). */
  constructor(sql: SqlStorage) {
    this.sql = sql;
    const exists = sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'outbox'`).one().n > 0;
    if (exists) return;
    sql.exec(
      `CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, at INTEGER NOT NULL, data TEXT, chunks INTEGER NOT NULL DEFAULT 0);
       CREATE TABLE IF NOT EXISTS event_chunks (seq INTEGER NOT NULL, idx INTEGER NOT NULL, part TEXT NOT NULL, PRIMARY KEY (seq, idx));
       CREATE TABLE IF NOT EXISTS timers (id TEXT PRIMARY KEY, due_at INTEGER NOT NULL, purpose TEXT NOT NULL);
       CREATE TABLE IF NOT EXISTS consumed_links (jti TEXT PRIMARY KEY, at INTEGER NOT NULL);
       CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL);`,
    );
  }

  insertEvent(e: RunEvent): void {
    const text = JSON.stringify(e.data);
    if (text.length > MAX_EVENT_CHARS) throw new Error(`event ${e.type} is ${text.length} characters; the limit is ${MAX_EVENT_CHARS}`);
    if (text.length <= CHUNK_CHARS) {
      this.sql.exec(`INSERT INTO events (seq, type, at, data, chunks) VALUES (?, ?, ?, ?, 0)`, e.seq, e.type, e.at, text);
      return;
    }
    const n = Math.ceil(text.length / CHUNK_CHARS);
    this.sql.exec(`INSERT INTO events (seq, type, at, data, chunks) VALUES (?, ?, ?, NULL, ?)`, e.seq, e.type, e.at, n);
    for (let i = 0; i < n; i++) this.sql.exec(`INSERT INTO event_chunks (seq, idx, part) VALUES (?, ?, ?)`, e.seq, i, text.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS));
  }

  private dataOf(row: { seq: number; data: string | null; chunks: number }): unknown {
    if (!row.chunks) return JSON.parse(row.data ?? "null");
    const parts = this.sql.exec<{ part: string }>(`SELECT part FROM event_chunks WHERE seq = ? ORDER BY idx`, row.seq).toArray();
    if (parts.length !== row.chunks) throw new Error(`event ${row.seq} is missing chunks (${parts.length} of ${row.chunks})`);
    return JSON.parse(parts.map((p) => p.part).join(""));
  }

  readEvents(afterSeq: number, limit: number): StoredEventRow[] {
    const rows = this.sql.exec<{ seq: number; type: string; at: number; data: string | null; chunks: number }>(`SELECT seq, type, at, data, chunks FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit).toArray();
    return rows.map((r) => ({ seq: r.seq, type: r.type, at: r.at, data: this.dataOf(r) }));
  }

  *allEvents(): Generator<StoredEventRow> {
    let after = 0;
    for (;;) {
      const page = this.readEvents(after, 500);
      yield* page;
      if (page.length < 500) return;
      after = page[page.length - 1].seq;
    }
  }

  setTimer(id: string, dueAt: number, purpose: string): void {
    this.sql.exec(`INSERT INTO timers (id, due_at, purpose) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET due_at = excluded.due_at, purpose = excluded.purpose`, id, dueAt, purpose);
  }

  /** When timer `id` is due, or null when it is not set. */
  timerDue(id: string): number | null {
    const row = this.sql.exec<{ due_at: number }>(`SELECT due_at FROM timers WHERE id = ?`, id).toArray()[0];
    return row ? row.due_at : null;
  }

  deleteTimer(id: string): void {
    this.sql.exec(`DELETE FROM timers WHERE id = ?`, id);
  }

  dueTimers(now: number): Array<{ id: string; due_at: number; purpose: string }> {
    return this.sql.exec<{ id: string; due_at: number; purpose: string }>(`SELECT id, due_at, purpose FROM timers WHERE due_at <= ? ORDER BY due_at, id`, now).toArray();
  }

  earliestTimer(): number | null {
    const row = this.sql.exec<{ t: number | null }>(`SELECT MIN(due_at) AS t FROM timers`).one();
    return row.t ?? null;
  }

  linkUsed(jti: string): boolean {
    return this.sql.exec(`SELECT 1 FROM consumed_links WHERE jti = ?`, jti).toArray().length > 0;
  }

  consumeLink(jti: string, at: number): void {
    this.sql.exec(`INSERT INTO consumed_links (jti, at) VALUES (?, ?)`, jti, at);
  }

  enqueue(kind: string, payload: unknown, now: number): void {
    this.sql.exec(`INSERT INTO outbox (kind, payload, next_at) VALUES (?, ?, ?)`, kind, JSON.stringify(payload), now);
  }

  dueOutbox(now: number, limit: number): Array<{ id: number; kind: string; payload: string; attempts: number }> {
    return this.sql.exec<{ id: number; kind: string; payload: string; attempts: number }>(`SELECT id, kind, payload, attempts FROM outbox WHERE next_at <= ? ORDER BY id LIMIT ?`, now, limit).toArray();
  }

  ackOutbox(id: number): void {
    this.sql.exec(`DELETE FROM outbox WHERE id = ?`, id);
  }

  retryOutbox(id: number, attempts: number, nextAt: number): void {
    this.sql.exec(`UPDATE outbox SET attempts = ?, next_at = ? WHERE id = ?`, attempts, nextAt, id);
  }

  earliestOutbox(): number | null {
    return this.sql.exec<{ t: number | null }>(`SELECT MIN(next_at) AS t FROM outbox`).one().t ?? null;
  }

  outboxSize(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM outbox`).one().n;
  }
}
