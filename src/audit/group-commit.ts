/**
 * Which queued writes go into the next audit statement: whole writes, in arrival order, up to
 * MAX_ROWS rows and MAX_BYTES of row text (at least one write, however large), so one slow
 * statement never grows without bound while the queue stays in order.
 */
export const MAX_ROWS = 2000;
export const MAX_BYTES = 4_000_000; // characters of row text; the store splits a statement whose UTF-8 would exceed libSQL's 5 MB parameter limit

export interface PendingWrite {
  rows: string[];
  done: () => void;
  fail: (err: unknown) => void;
}

export function groupCommitBatch<W extends { rows: string[] }>(queue: W[]): { batch: W[]; rest: W[] } {
  let rows = 0;
  let bytes = 0;
  let i = 0;
  for (; i < queue.length; i++) {
    const w = queue[i];
    const size = w.rows.reduce((n, r) => n + r.length, 0);
    if (i > 0 && (rows + w.rows.length > MAX_ROWS || bytes + size > MAX_BYTES)) break;
    rows += w.rows.length;
    bytes += size;
  }
  return { batch: queue.slice(0, i), rest: queue.slice(i) };
}

/** The writer shard for a shipping object: a stable hash of its id over `shards`. */
export function writerShard(objectId: string, shards: number): number {
  let h = 2166136261;
  for (let i = 0; i < objectId.length; i++) h = Math.imul(h ^ objectId.charCodeAt(i), 16777619);
  return (h >>> 0) % Math.max(1, shards);
}
