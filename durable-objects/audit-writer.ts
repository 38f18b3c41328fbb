/**
 * AuditWriter: group commit for the audit database. Every Durable Object keeps its audit entries
 * in an outbox and ships them here instead of to libSQL directly; a writer sends whatever has
 * queued while its previous statement ran as one `INSERT … ON CONFLICT DO NOTHING`, and answers
 * each caller only once the database has its rows. So the database sees a handful of writers
 * (AUDIT_WRITERS shards) instead of one connection per busy run: a local sqld answers
 * "database is locked" or stalls when fifty runs write at once, and each of its transactions
 * costs 2–3 ms however few rows it carries.
 *
 * Nothing is stored here: a writer that dies mid-statement fails its callers, who keep their
 * rows queued and ship them again (the insert ignores rows already there).
 */
import { DurableObject } from "cloudflare:workers";
import { auditStore, type AuditStore } from "../src/audit/audit-store.ts";
import { groupCommitBatch, type PendingWrite } from "../src/audit/group-commit.ts";

export class AuditWriter extends DurableObject<Env> {
  private store: AuditStore | null = null;
  private queue: PendingWrite[] = [];
  private writing = false;

  /** Writes rows serialized by `entryToRowJson`; resolves once they are in the database. */
  async write(rows: string[]): Promise<number> {
    if (!rows.length) return 0;
    await new Promise<void>((done, fail) => {
      this.queue.push({ rows, done, fail });
      this.pump();
    });
    return rows.length;
  }

  private pump(): void {
    if (this.writing || !this.queue.length) return;
    const { batch, rest } = groupCommitBatch(this.queue);
    this.queue = rest;
    this.writing = true;
    void (async () => {
      try {
        this.store ??= auditStore(this.env);
        await this.store.insertRows(batch.flatMap((w) => w.rows));
        for (const w of batch) w.done();
      } catch (err) {
        for (const w of batch) w.fail(err);
      } finally {
        this.writing = false;
        this.pump();
      }
    })();
  }
}
