/**
 * Ships a Durable Object's audit outbox to the audit database (through an AuditWriter): batches in chain order,
 * `INSERT … ON CONFLICT DO NOTHING` by entry id (at-least-once delivery, exactly-once effect),
 * acknowledged only after the database has them. A failure leaves everything queued and sets
 * the backoff; the caller arms its alarm for the returned time.
 */
import type { AuditOutboxStore } from "../storage/audit-outbox-store.ts";
import { writerShard } from "./group-commit.ts";

/** Where shipments go: the AuditWriter objects (group commit) or, in tests and tools, an AuditStore. */
export interface AuditRowSink {
  insertRows(rows: string[]): Promise<unknown>;
}

/** The AuditWriter shard that ships for the object `objectId` (a stable choice, so its batches stay in order). */
export function auditWriterFor(env: Env, objectId: string): AuditRowSink {
  const shards = Number(env.AUDIT_WRITERS) || 1;
  const ns = env.AUDIT_WRITER;
  const stub = ns.get(ns.idFromName(`audit-writer-${writerShard(objectId, shards)}`));
  return { insertRows: (rows) => stub.write(rows) };
}

export const SHIP_BATCH = 500;

export interface ShipResult {
  shipped: number;
  /** when to try again after a failure; null when the outbox drained */
  retryAt: number | null;
  error?: string;
}

export async function shipAuditOutbox(outbox: AuditOutboxStore, store: () => AuditRowSink, hooks: { shipped?: () => void } = {}): Promise<ShipResult> {
  let shipped = 0;
  for (;;) {
    const { lastId, rows } = outbox.pending(SHIP_BATCH);
    if (!rows.length) return { shipped, retryAt: null };
    try {
      await store().insertRows(rows);
    } catch (err) {
      const error = (err as Error).message;
      return { shipped, retryAt: outbox.failed(Date.now(), error), error };
    }
    hooks.shipped?.();
    outbox.acknowledge(lastId);
    shipped += rows.length;
  }
}

/**
 * A Durable Object's shipping loop: one shipment at a time, in the background (entries
 * committed while one is in flight go with its next batch). While a failed shipment backs off,
 * new entries wait for the retry instead of hammering a database that is down.
 */
export class AuditShipping {
  private readonly outbox: AuditOutboxStore;
  private readonly ctx: DurableObjectState;
  private readonly store: () => AuditRowSink;
  /** arms (a time) or clears (null) the object's retry wake-up */
  private readonly retry: (at: number | null) => void;
  private readonly hooks: { shipped?: () => void };
  private inflight: Promise<void> | null = null;

  constructor(opts: { outbox: AuditOutboxStore; ctx: DurableObjectState; store: () => AuditRowSink; retry: (at: number | null) => void; hooks?: { shipped?: () => void } }) {
    this.outbox = opts.outbox;
    this.ctx = opts.ctx;
    let store: AuditRowSink | undefined;
    this.store = () => (store ??= opts.store()); // one client for the object's lifetime
    this.retry = opts.retry;
    this.hooks = opts.hooks ?? {};
  }

  /** Starts a shipment unless one is running or (unless forced, as by the retry alarm) the backoff says wait. */
  schedule(force = false): void {
    if (this.inflight) return;
    if (!force && this.outbox.nextShipAt() > Date.now()) return;
    this.inflight = (async () => {
      try {
        const r = await shipAuditOutbox(this.outbox, this.store, this.hooks);
        if (r.retryAt !== null) console.warn(`audit shipment failed (retrying at ${new Date(r.retryAt).toISOString()}): ${r.error}`);
        this.retry(r.retryAt);
      } finally {
        this.inflight = null;
      }
    })();
    this.ctx.waitUntil(this.inflight);
  }

  /** How many entries wait, and the backoff (after the shipment in flight, if any, ends). */
  async backlog(): Promise<{ pending: number; attempts: number; nextAt: number; lastError: string | null }> {
    await this.inflight?.catch(() => undefined);
    return { pending: this.outbox.size(), ...this.outbox.shipState() };
  }
}
