/**
 * Agent memory, the pure core: conflicts are surfaced never overwritten, resolutions by a person
 * or a declared rule, corrections, retractions, erasure tombstones, freshness, and the
 * bi-temporal property: as-of(t) equals folding every write recorded up to t.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { factInputSchema, MemoryInputError, type FactInput, type Writer } from "../../src/memory/fact-model.ts";
import { emptyModel, eraseSubject, readModel, resolveConflict, retractFact, writeFacts, type MemoryModel } from "../../src/memory/memory-model.ts";
import { overlaps } from "../../src/memory/memory-plan.ts";

const DAY = 86_400_000;
const T0 = Date.parse("2026-03-02T09:00:00Z");
const human: Writer = { kind: "person", sub: "alice" };
const run = (seq = 4): Writer => ({ kind: "run", runId: "run-1", node: "remember", eventSeq: seq });
const fact = (f: Partial<FactInput> & { value: unknown }): FactInput => factInputSchema.parse({ subject: "claimant-7", attribute: "address", sourceKind: "user_input", ...f });
const values = (m: MemoryModel, at: number, q = {}) => readModel(m, { subject: "claimant-7", ...q }, at).facts.map((f) => f.value);

describe("memory: writes and conflicts", () => {
  it("records provenance and both time axes", () => {
    const { model } = writeFacts(emptyModel(), [fact({ value: "1 Old Road", validFrom: T0 - 10 * DAY, confidence: 0.9 })], T0, run());
    const [f] = readModel(model, {}, T0).facts;
    expect(f).toMatchObject({ id: 1, value: "1 Old Road", status: "believed", recordedAt: T0, retiredAt: null, validFrom: T0 - 10 * DAY, validTo: null, stale: false });
    expect(f.provenance).toEqual({ sourceKind: "user_input", confidence: 0.9, runId: "run-1", eventSeq: 4, node: "remember" });
  });

  it("a model inference contradicting a human fact is a conflict, not an overwrite", () => {
    let m = writeFacts(emptyModel(), [fact({ value: "1 Old Road", sourceKind: "human" })], T0, human).model;
    const w = writeFacts(m, [fact({ value: "9 Guess Street", sourceKind: "model_inference", confidence: 0.6 })], T0 + 1000, run());
    m = w.model;
    expect(values(m, T0 + 2000)).toEqual(["1 Old Road"]);
    expect(readModel(m, {}, T0 + 2000).contested.map((f) => f.value)).toEqual(["9 Guess Street"]);
    expect(m.conflicts).toEqual([{ id: 1, subject: "claimant-7", attribute: "address", existingId: 1, proposedId: 2, detectedAt: T0 + 1000, resolvedAt: null, resolution: null }]);
  });

  it("the same value again reaffirms (one believed record, validity merged), a many-valued attribute never conflicts", () => {
    let m = writeFacts(emptyModel(), [fact({ value: "a", validFrom: T0 - DAY })], T0, human).model;
    m = writeFacts(m, [fact({ value: "a" })], T0 + 1, run()).model;
    expect(readModel(m, {}, T0 + 2).facts).toMatchObject([{ id: 2, value: "a", validFrom: T0 - DAY, supersedes: 1 }]);
    m = writeFacts(m, [fact({ attribute: "phone", value: "1", cardinality: "many" }), fact({ attribute: "phone", value: "2", cardinality: "many" })], T0 + 2, run()).model;
    expect(values(m, T0 + 3, { attributes: ["phone"] })).toEqual(["1", "2"]);
    expect(m.conflicts).toEqual([]);
  });

  it("different values over periods that do not overlap are history, not a conflict", () => {
    let m = writeFacts(emptyModel(), [fact({ value: "old", validFrom: T0 - 30 * DAY, validTo: T0 - 5 * DAY })], T0, human).model;
    m = writeFacts(m, [fact({ value: "new", validFrom: T0 - 5 * DAY })], T0 + 1, human).model;
    expect(m.conflicts).toEqual([]);
    expect(values(m, T0 + 2)).toEqual(["new"]);
    expect(values(m, T0 + 2, { validAt: T0 - 10 * DAY })).toEqual(["old"]);
    expect(values(m, T0 + 2, { validAt: null })).toEqual(["old", "new"]);
  });

  it("rejects a period that ends before it starts", () => {
    expect(() => writeFacts(emptyModel(), [fact({ value: "x", validFrom: T0, validTo: T0 - 1 })], T0, human)).toThrow(/validTo must come after validFrom/);
  });
});

describe("memory: resolution", () => {
  const contested = () => {
    const m = writeFacts(emptyModel(), [fact({ value: "old", validFrom: T0 - 21 * DAY, sourceKind: "human" })], T0, human).model;
    return writeFacts(m, [fact({ value: "new", validFrom: T0 + DAY, sourceKind: "tool_result" })], T0 + 10, run()).model;
  };

  it("keep_old rejects the proposed fact", () => {
    const m = resolveConflict(contested(), 1, { kind: "keep_old" }, T0 + 20, { kind: "person", id: "bob" });
    expect(values(m, T0 + 30, { validAt: T0 + 2 * DAY })).toEqual(["old"]);
    expect(readModel(m, {}, T0 + 30).contested).toEqual([]);
    expect(m.conflicts[0]).toMatchObject({ resolvedAt: T0 + 20, resolution: { kind: "keep_old", by: { kind: "person", id: "bob" } } });
    expect(m.facts[1].retiredReason).toBe("rejected (conflict 1)");
  });

  it("accept_new retires the old fact and believes the new one from the resolution on", () => {
    const m = resolveConflict(contested(), 1, { kind: "accept_new" }, T0 + 20, { kind: "person", id: "bob" });
    expect(values(m, T0 + 30, { validAt: T0 + 2 * DAY })).toEqual(["new"]);
    expect(values(m, T0 + 30, { validAt: T0 })).toEqual([]);
    // before the resolution the memory still held the old belief
    expect(values(m, T0 + 30, { asOf: T0 + 15, validAt: T0 + 2 * DAY })).toEqual(["old"]);
  });

  it("both_with_validity keeps each for its own period", () => {
    const m = resolveConflict(contested(), 1, { kind: "both_with_validity" }, T0 + 20, { kind: "person", id: "bob" });
    expect(values(m, T0 + 30, { validAt: T0 })).toEqual(["old"]);
    expect(values(m, T0 + 30, { validAt: T0 + 2 * DAY })).toEqual(["new"]);
    expect(() => resolveConflict(m, 1, { kind: "keep_old" }, T0 + 40, { kind: "person", id: "bob" })).toThrow(/already resolved/);
  });

  it("both_with_validity refuses overlapping periods", () => {
    expect(() => resolveConflict(contested(), 1, { kind: "both_with_validity", validity: { existing: { validFrom: T0 - DAY, validTo: null } } }, T0 + 20, { kind: "person", id: "bob" })).toThrow(/do not overlap/);
  });

  it("the declared rule: newer human input supersedes older, recorded as resolved by the rule", () => {
    let m = writeFacts(emptyModel(), [fact({ value: "old", validFrom: T0 - 21 * DAY })], T0, run()).model;
    m = writeFacts(m, [fact({ value: "new", sourceKind: "human", resolveRule: "newer_human_supersedes" })], T0 + 21 * DAY, human).model;
    expect(m.conflicts[0].resolution).toEqual({ kind: "both_with_validity", by: { kind: "rule", id: "newer_human_supersedes" } });
    expect(values(m, T0 + 22 * DAY)).toEqual(["new"]);
    expect(values(m, T0 + 22 * DAY, { validAt: T0 })).toEqual(["old"]);
    // the rule only speaks for humans: a model inference with the same rule still waits for a person
    m = writeFacts(m, [fact({ value: "guess", sourceKind: "model_inference", resolveRule: "newer_human_supersedes" })], T0 + 23 * DAY, run()).model;
    expect(m.conflicts[1].resolvedAt).toBeNull();
  });
});

describe("memory: correction, retraction, erasure, freshness", () => {
  it("a correction retires the corrected fact without a conflict", () => {
    let m = writeFacts(emptyModel(), [fact({ value: "1 Old Raod" })], T0, human).model;
    m = writeFacts(m, [fact({ value: "1 Old Road", corrects: 1 })], T0 + 1, human).model;
    expect(values(m, T0 + 2)).toEqual(["1 Old Road"]);
    expect(m.facts[0].retiredReason).toBe("corrected");
    expect(m.conflicts).toEqual([]);
    expect(() => writeFacts(m, [fact({ value: "x", corrects: 1 })], T0 + 3, human)).toThrow(/not a current fact/);
  });

  it("a retraction ends the belief but keeps the history", () => {
    let m = writeFacts(emptyModel(), [fact({ value: "a" })], T0, human).model;
    m = retractFact(m, 1, T0 + 5, "alice", "entered by mistake");
    expect(values(m, T0 + 6)).toEqual([]);
    expect(values(m, T0 + 6, { asOf: T0 + 1 })).toEqual(["a"]);
    expect(() => retractFact(m, 1, T0 + 7, "alice", "again")).toThrow(/not current/);
  });

  it("erasure removes every value of the subject, keeps tombstones with provenance, closes open conflicts", () => {
    let m = writeFacts(emptyModel(), [fact({ value: "a", sourceKind: "human" }), fact({ attribute: "phone", value: "+44 20 7946 0000" })], T0, human).model;
    m = writeFacts(m, [fact({ value: "b", sourceKind: "model_inference" })], T0 + 1, run()).model;
    m = eraseSubject(m, "claimant-7", undefined, T0 + 2, "admin-1", "GDPR art. 17 request 42");
    expect(m.facts.every((f) => f.erased && f.value === null)).toBe(true);
    expect(m.facts[0].provenance).toEqual({ sourceKind: "human", confidence: 1, actor: "alice" });
    expect(readModel(m, {}, T0 + 3).facts).toEqual([]);
    // as of before the erasure the records are there, without values
    expect(readModel(m, {}, T0 + 3).facts).toEqual([]);
    expect(readModel(m, { asOf: T0 + 1 }, T0 + 3).facts.map((f) => [f.attribute, f.value, f.erased])).toEqual([["address", null, true], ["phone", null, true]]);
    expect(m.conflicts[0].resolution).toMatchObject({ kind: "erased" });
  });

  it("a fact older than its freshness window reads as stale", () => {
    const m = writeFacts(emptyModel(), [fact({ value: "a", freshForMs: 30 * DAY })], T0, human).model;
    expect(readModel(m, {}, T0 + 29 * DAY).facts[0].stale).toBe(false);
    expect(readModel(m, {}, T0 + 31 * DAY).facts[0].stale).toBe(true);
    expect(readModel(m, { asOf: T0 + 1 }, T0 + 31 * DAY).facts[0].stale).toBe(false);
  });
});

// ---------- properties ----------

type Op =
  | { kind: "write"; subject: string; attribute: string; value: string; sourceKind: FactInput["sourceKind"]; from: number | null; len: number | null; many: boolean; rule: boolean; human: boolean }
  | { kind: "resolve"; pick: number; how: "keep_old" | "accept_new" | "both_with_validity" }
  | { kind: "retract"; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("write" as const), subject: fc.constantFrom("s1", "s2"), attribute: fc.constantFrom("address", "phone"), value: fc.constantFrom("a", "b", "c"), sourceKind: fc.constantFrom("user_input", "tool_result", "model_inference", "human" as const), from: fc.option(fc.integer({ min: -20, max: 40 }), { nil: null }), len: fc.option(fc.integer({ min: 1, max: 30 }), { nil: null }), many: fc.boolean(), rule: fc.boolean(), human: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("resolve" as const), pick: fc.nat(), how: fc.constantFrom("keep_old", "accept_new", "both_with_validity" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("retract" as const), pick: fc.nat() }) },
);

/** Applies one operation at `at`; an operation the memory refuses (a bad period, a resolved conflict) changes nothing. */
function step(m: MemoryModel, op: Op, at: number): MemoryModel {
  try {
    if (op.kind === "write") {
      const validFrom = op.from === null ? undefined : T0 + op.from * DAY;
      const input = fact({ subject: op.subject, attribute: op.attribute, value: op.value, sourceKind: op.sourceKind, ...(validFrom !== undefined ? { validFrom } : {}), ...(op.len !== null && validFrom !== undefined ? { validTo: validFrom + op.len * DAY } : {}), cardinality: op.many ? "many" : "one", ...(op.rule ? { resolveRule: "newer_human_supersedes" as const } : {}) });
      return writeFacts(m, [input], at, op.human ? human : run()).model;
    }
    if (op.kind === "resolve") {
      const open = m.conflicts.filter((c) => c.resolvedAt === null);
      if (!open.length) return m;
      return resolveConflict(m, open[op.pick % open.length].id, { kind: op.how }, at, { kind: "person", id: "bob" });
    }
    const live = m.facts.filter((f) => f.retiredAt === null);
    if (!live.length) return m;
    return retractFact(m, live[op.pick % live.length].id, at, "bob", "test");
  } catch (err) {
    if (err instanceof MemoryInputError) return m;
    throw err;
  }
}

describe("memory: bi-temporal properties", () => {
  it("as-of(t) equals folding all writes recorded up to t", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(opArb, fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 200 }), fc.option(fc.integer({ min: -25, max: 80 }), { nil: null }), (ops, tPick, vPick) => {
        // operations at non-decreasing times; several may share an instant
        let at = T0;
        const timed = ops.map(([op, gap]) => ({ op, at: (at += gap * 1000) }));
        let full = emptyModel();
        for (const o of timed) full = step(full, o.op, o.at);
        const t = T0 + tPick * 1000;
        let prefix = emptyModel();
        for (const o of timed) if (o.at <= t) prefix = step(prefix, o.op, o.at);
        const v = vPick === null ? null : T0 + vPick * DAY;
        for (const subject of ["s1", "s2"]) {
          const asOf = readModel(full, { subject, asOf: t, validAt: v }, timed[timed.length - 1].at + 1);
          const folded = readModel(prefix, { subject, validAt: v }, t);
          expect(asOf.facts).toEqual(folded.facts);
          expect(asOf.contested).toEqual(folded.contested);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("no write silently replaces a believed value: single-valued facts believed at one instant never overlap with different values", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(opArb, fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 40 }), (ops) => {
        let at = T0;
        let m = emptyModel();
        for (const [op, gap] of ops) m = step(m, op.kind === "write" ? { ...op, many: false } : op, (at += gap * 1000));
        const believed = m.facts.filter((f) => f.retiredAt === null && f.status === "believed");
        for (const a of believed)
          for (const b of believed) {
            if (a.id >= b.id || a.subject !== b.subject || a.attribute !== b.attribute) continue;
            expect(a.value === b.value || !overlaps(a, b.validFrom, b.validTo)).toBe(true);
          }
        // every contested record still held has an open conflict
        for (const f of m.facts.filter((x) => x.retiredAt === null && x.status === "contested")) expect(m.conflicts.some((c) => c.proposedId === f.id && c.resolvedAt === null)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});

describe("memory node in the workflow document", () => {
  it("needs exactly one of read or write, and a known next", async () => {
    const { parseWorkflow } = await import("../../src/engine/workflow-schema.ts");
    const base = { id: "m", version: 1, start: "a" };
    const both = parseWorkflow({ ...base, nodes: { a: { kind: "memory", scope: "s", read: { subject: "x" }, write: [{ subject: "x", attribute: "y", value: 1, source: "human" }], next: "done" }, done: { kind: "end" } } });
    expect(!both.ok && both.errors[0]).toMatchObject({ path: "nodes.a", message: expect.stringMatching(/exactly one of read or write/) });
    const ok = parseWorkflow({ ...base, memory: { attributes: { y: { freshFor: "30d" } } }, nodes: { a: { kind: "memory", scope: "s", read: { subject: "x" }, next: "done" }, done: { kind: "end" } } });
    expect(ok.ok).toBe(true);
    const badSource = parseWorkflow({ ...base, nodes: { a: { kind: "memory", scope: "s", write: [{ subject: "x", attribute: "y", value: 1, source: "rumour" }], next: "done" }, done: { kind: "end" } } });
    expect(badSource.ok).toBe(false);
  });
});
