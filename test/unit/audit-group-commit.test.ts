/** Which queued audit writes share a statement, and which writer ships for which object. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { groupCommitBatch, MAX_BYTES, MAX_ROWS, writerShard } from "../../src/audit/group-commit.ts";

const write = (rows: number, size = 10) => ({ rows: Array.from({ length: rows }, () => "x".repeat(size)) });

describe("groupCommitBatch", () => {
  it("takes whole writes in arrival order, and at least one", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ n: fc.integer({ min: 1, max: 900 }), size: fc.integer({ min: 1, max: 4000 }) }), { minLength: 1, maxLength: 30 }), (specs) => {
        const queue = specs.map((s) => write(s.n, s.size));
        const { batch, rest } = groupCommitBatch(queue);
        expect([...batch, ...rest]).toEqual(queue); // nothing lost, reordered or split
        expect(batch.length).toBeGreaterThanOrEqual(1);
        const rows = batch.reduce((n, w) => n + w.rows.length, 0);
        const bytes = batch.reduce((n, w) => n + w.rows.join("").length, 0);
        if (batch.length > 1) {
          expect(rows).toBeLessThanOrEqual(MAX_ROWS);
          expect(bytes).toBeLessThanOrEqual(MAX_BYTES);
        }
        // the next write would not have fitted
        if (rest.length) {
          const next = rest[0];
          expect(rows + next.rows.length > MAX_ROWS || bytes + next.rows.join("").length > MAX_BYTES).toBe(true);
        }
      }),
    );
  });

  it("sends a write larger than the limits on its own rather than holding it back", () => {
    const big = write(MAX_ROWS + 5);
    const { batch, rest } = groupCommitBatch([big, write(1)]);
    expect(batch).toEqual([big]);
    expect(rest).toHaveLength(1);
  });

  it("takes everything queued when it fits", () => {
    const q = [write(500), write(500), write(3)];
    expect(groupCommitBatch(q)).toEqual({ batch: q, rest: [] });
    expect(groupCommitBatch([])).toEqual({ batch: [], rest: [] });
  });
});

describe("writerShard", () => {
  it("is stable and within range", () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), (id, n) => {
        const s = writerShard(id, n);
        expect(s).toBe(writerShard(id, n));
        expect(s >= 0 && s < n).toBe(true);
      }),
    );
    expect(writerShard("anything", 0)).toBe(0);
  });

  it("spreads object ids over the shards", () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[writerShard(`run_${i.toString(36)}`, 4)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });
});
