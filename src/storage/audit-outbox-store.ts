/**
 * The audit outbox inside a Durable Object's SQLite: each stream's chain head, the entries
 * waiting to be shipped to the audit database, and the shipper's backoff. `append` is
 * synchronous so it runs inside the transactionSync that writes the cause of the entries:
 * the event and its audit entry are committed together or not at all.
 */
import { extendChain, EMPTY_HEAD, type AuditEntry, type AuditRecord, type ChainHead } from "../audit/audit-entry.ts";
import { entryToRowJson } from "../audit/audit-rows.ts";

export const SHIP_BASE_MS = 500;
export const SHIP_MAX_BACKOFF_MS = 15_000;

export class AuditOutboxStore {
  private readonly sql: SqlStorage;
  private readonly heads = new Map<string, ChainHead>();
  /** `audit_ship.next_at` once read: only this store writes it, and every commit asks for it. */
  private nextAt: number | undefined;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    const exists = sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'audit_ship'`).one().n > 0;
    if (!exists) {
      sql.exec(
        `CREATE TABLE IF NOT EXISTS audit_head (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS audit_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, row TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS audit_ship (k INTEGER PRIMARY KEY CHECK (k = 1), attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, last_error TEXT);
         INSERT OR IGNORE INTO audit_ship (k, attempts, next_at) VALUES (1, 0, 0);`,
      );
    }
  }

  private head(stream: string): ChainHead {
    let h = this.heads.get(stream);
    if (!h) {
      const row = this.sql.exec<{ seq: number; hash: string }>(`SELECT seq, hash FROM audit_head WHERE stream = ?`, stream).toArray()[0];
      h = row ? { seq: row.seq, hash: row.hash } : EMPTY_HEAD;
      this.heads.set(stream, h);
    }
    return h;
  }

  /**
   * Chains the records onto their streams and queues them for shipping. Call inside the
   * transaction that writes their cause. The in-memory heads are only trusted after commit:
   * `forgetCached` drops them when a transaction rolls back.
   */
  append(records: AuditRecord[]): AuditEntry[] {
    const byStream = new Map<string, AuditRecord[]>();
    for (const r of records) {
      const list = byStream.get(r.stream);
      if (list) list.push(r);
      else byStream.set(r.stream, [r]);
    }
    const out: AuditEntry[] = [];
    for (const [stream, list] of byStream) {
      const { entries, head } = extendChain(this.head(stream), list);
      // stored as the database row it becomes (a JSON array in column order): shipping is a concatenation
      for (const e of entries) this.sql.exec(`INSERT INTO audit_outbox (row) VALUES (?)`, entryToRowJson(e));
      this.sql.exec(`INSERT INTO audit_head (stream, seq, hash) VALUES (?, ?, ?) ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, stream, head.seq, head.hash);
      this.heads.set(stream, head);
      out.push(...entries);
    }
    return out;
  }

  /** Drops what is cached from storage (after a rollback, it may name writes that never happened). */
  forgetCached(): void {
    this.heads.clear();
    this.nextAt = undefined;
  }

  /** `storage.transactionSync(fn)`, dropping the cached chain heads and backoff if it rolls back (they may name writes that never happened). */
  transaction<T>(storage: DurableObjectStorage, fn: () => T): T {
    try {
      return storage.transactionSync(fn);
    } catch (err) {
      this.forgetCached();
      throw err;
    }
  }

  /** The oldest queued entries as database rows (JSON arrays), in the order they were chained: at most `limit` rows and about `maxChars` characters (at least one row). */
  pending(limit: number, maxChars = 4_000_000): { lastId: number; rows: string[] } {
    const out: string[] = [];
    let lastId = 0;
    let chars = 0;
    for (const r of this.sql.exec<{ id: number; row: string }>(`SELECT id, row FROM audit_outbox ORDER BY id LIMIT ?`, limit)) {
      if (out.length && chars + r.row.length > maxChars) break;
      out.push(r.row);
      lastId = r.id;
      chars += r.row.length;
    }
    return { lastId, rows: out };
  }

  /** The audit database has them: forget everything up to lastId and reset the backoff. */
  acknowledge(lastId: number): void {
    this.sql.exec(`DELETE FROM audit_outbox WHERE id <= ?`, lastId);
    // only after a failure is there a backoff to reset (an unchanged row is not rewritten)
    this.sql.exec(`UPDATE audit_ship SET attempts = 0, next_at = 0, last_error = NULL WHERE k = 1 AND (attempts <> 0 OR next_at <> 0 OR last_error IS NOT NULL)`);
    this.nextAt = 0;
  }

  /** A shipment failed: back off exponentially (0.5 s, 1 s, 2 s … at most 15 s); returns when to try again. */
  failed(now: number, error: string): number {
    const { attempts } = this.shipState();
    const next = now + Math.min(SHIP_MAX_BACKOFF_MS, SHIP_BASE_MS * 2 ** attempts);
    this.sql.exec(`UPDATE audit_ship SET attempts = ?, next_at = ?, last_error = ? WHERE k = 1`, attempts + 1, next, error.slice(0, 500));
    this.nextAt = next;
    return next;
  }

  /** When the next shipment may start (a past time or 0: now). */
  nextShipAt(): number {
    return (this.nextAt ??= this.shipState().nextAt);
  }

  shipState(): { attempts: number; nextAt: number; lastError: string | null } {
    const r = this.sql.exec<{ attempts: number; next_at: number; last_error: string | null }>(`SELECT attempts, next_at, last_error FROM audit_ship WHERE k = 1`).one();
    return { attempts: r.attempts, nextAt: r.next_at, lastError: r.last_error };
  }

  size(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM audit_outbox`).one().n;
  }

  headOf(stream: string): ChainHead {
    return this.head(stream);
  }
}
