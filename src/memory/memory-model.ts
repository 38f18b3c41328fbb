/**
 * The in-memory reference model of one memory scope: records and conflicts in arrays, changed
 * only through the planners' changes. It defines what the Durable Object's SQL store must do
 * (the property tests compare them) and is small enough to reason about.
 */
import type { ConflictRecord, FactInput, FactRecord, MemoryReadResult, ResolveRequest, Resolver, Writer } from "./fact-model.ts";
import { MemoryInputError } from "./fact-model.ts";
import { planErasure, planResolution, planRetraction, planWrite, type IdSource, type MemoryChange } from "./memory-plan.ts";
import { heldAt, matches, selectAt, type ReadQuery } from "./memory-query.ts";

export interface MemoryModel {
  facts: FactRecord[];
  conflicts: ConflictRecord[];
}

export const emptyModel = (): MemoryModel => ({ facts: [], conflicts: [] });

function idsFor(m: MemoryModel): IdSource {
  let f = m.facts.length;
  let c = m.conflicts.length;
  return { fact: () => ++f, conflict: () => ++c };
}

/** Applies changes to a copy of the model (records are ids 1..n in order). */
export function applyChanges(m: MemoryModel, changes: readonly MemoryChange[]): MemoryModel {
  const facts = [...m.facts];
  const conflicts = [...m.conflicts];
  for (const ch of changes) {
    switch (ch.kind) {
      case "insert_fact":
        if (ch.fact.id !== facts.length + 1) throw new Error(`fact id ${ch.fact.id} out of order`);
        facts.push(ch.fact);
        break;
      case "retire_fact":
        facts[ch.id - 1] = { ...facts[ch.id - 1], retiredAt: ch.at, retiredReason: ch.reason };
        break;
      case "erase_fact":
        facts[ch.id - 1] = { ...facts[ch.id - 1], value: null, erased: true };
        break;
      case "insert_conflict":
        conflicts.push(ch.conflict);
        break;
      case "resolve_conflict":
        conflicts[ch.id - 1] = { ...conflicts[ch.id - 1], resolvedAt: ch.at, resolution: ch.resolution };
        break;
    }
  }
  return { facts, conflicts };
}

const current = (m: MemoryModel, subject: string, attribute: string) => m.facts.filter((f) => f.retiredAt === null && f.subject === subject && f.attribute === attribute);
const openOf = (m: MemoryModel, factId: number) => m.conflicts.filter((c) => c.resolvedAt === null && (c.proposedId === factId || c.existingId === factId));

export function writeFacts(m: MemoryModel, inputs: readonly FactInput[], at: number, writer: Writer): { model: MemoryModel; changes: MemoryChange[] } {
  let model = m;
  const all: MemoryChange[] = [];
  for (const input of inputs) {
    const changes = planWrite(input, current(model, input.subject, input.attribute), at, writer, idsFor(model));
    model = applyChanges(model, changes);
    all.push(...changes);
  }
  return { model, changes: all };
}

export function resolveConflict(m: MemoryModel, conflictId: number, req: ResolveRequest, at: number, by: Resolver): MemoryModel {
  const c = m.conflicts[conflictId - 1];
  if (!c) throw new MemoryInputError("no such conflict", 404);
  const others = m.conflicts.filter((o) => o.id !== c.id && o.resolvedAt === null && o.proposedId === c.proposedId);
  const proposed = m.facts[c.proposedId - 1];
  const believed = current(m, c.subject, c.attribute).filter((f) => f.status === "believed");
  return applyChanges(m, planResolution(c, proposed, believed, others, req, at, by, idsFor(m)));
}

export function retractFact(m: MemoryModel, factId: number, at: number, by: string, reason: string): MemoryModel {
  return applyChanges(m, planRetraction(m.facts[factId - 1], openOf(m, factId), at, by, reason));
}

export function eraseSubject(m: MemoryModel, subject: string, attribute: string | undefined, at: number, by: string, reason: string): MemoryModel {
  const facts = m.facts.filter((f) => f.subject === subject && (attribute === undefined || f.attribute === attribute));
  const ids = new Set(facts.map((f) => f.id));
  const open = m.conflicts.filter((c) => c.resolvedAt === null && (ids.has(c.existingId) || ids.has(c.proposedId)));
  return applyChanges(m, planErasure(facts, open, at, by, reason));
}

/** A read at `now`: as of `q.asOf` (default now), valid at `q.validAt` (default the as-of instant). */
export function readModel(m: MemoryModel, q: ReadQuery, now: number): MemoryReadResult {
  const t = q.asOf ?? now;
  const v = q.validAt === undefined ? t : q.validAt;
  const held = m.facts.filter((f) => matches(f, q) && heldAt(f, t));
  return { readAt: now, asOf: q.asOf ?? null, validAt: v, ...selectAt(held, t, v) };
}
