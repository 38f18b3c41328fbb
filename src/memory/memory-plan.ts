/**
 * What a memory operation changes, decided without I/O. Each planner takes the records it needs
 * (the current records of one subject and attribute, a conflict and its two facts) and returns
 * the changes to apply: insert a record, retire one (end its transaction time), open or resolve
 * a conflict, erase a value. The Durable Object applies them in SQL inside one transaction; the
 * in-memory reference model (memory-model.ts) applies them to arrays. A contradiction is never
 * a silent overwrite: the new record is kept as `contested` beside a conflict until a person
 * or a declared rule resolves it.
 */
import { MemoryInputError, sameValue, type ConflictRecord, type FactInput, type FactRecord, type Provenance, type ResolveRequest, type Resolution, type Resolver, type Validity, type Writer } from "./fact-model.ts";

export type MemoryChange =
  | { kind: "insert_fact"; fact: FactRecord }
  | { kind: "retire_fact"; id: number; at: number; reason: string }
  | { kind: "insert_conflict"; conflict: ConflictRecord }
  | { kind: "resolve_conflict"; id: number; at: number; resolution: Resolution }
  | { kind: "erase_fact"; id: number };

/** Hands out the next ids (the store's counters). */
export interface IdSource {
  fact(): number;
  conflict(): number;
}

/** Whether a record's valid time overlaps [from, to) (null: open-ended). */
export function overlaps(f: { validFrom: number; validTo: number | null }, from: number, to: number | null): boolean {
  return (to === null || f.validFrom < to) && (f.validTo === null || from < f.validTo);
}

export function provenanceOf(input: FactInput, writer: Writer): Provenance {
  const base = { sourceKind: input.sourceKind, confidence: input.confidence };
  return writer.kind === "run" ? { ...base, runId: writer.runId, eventSeq: writer.eventSeq, node: writer.node } : { ...base, actor: writer.sub };
}

function checkValidity(v: Validity, what: string): void {
  if (v.validTo !== null && v.validTo <= v.validFrom) throw new MemoryInputError(`${what}: validTo must come after validFrom`);
}

/**
 * Writes one fact against the current records of its subject and attribute (`current`: every
 * record not retired). Same value over an overlapping period: the record is reaffirmed (the new
 * one replaces it, its validity the union). A different value of a single-valued attribute over
 * an overlapping period: a conflict, unless a declared rule resolves it at once.
 */
export function planWrite(input: FactInput, current: readonly FactRecord[], at: number, writer: Writer, ids: IdSource): MemoryChange[] {
  const validFrom = input.validFrom ?? at;
  const validTo = input.validTo ?? null;
  checkValidity({ validFrom, validTo }, `${input.subject}.${input.attribute}`);
  const changes: MemoryChange[] = [];
  let others = current.filter((f) => f.status === "believed");
  let supersedes: number | null = null;
  if (input.corrects !== undefined) {
    const target = current.find((f) => f.id === input.corrects);
    if (!target) throw new MemoryInputError(`fact ${input.corrects} is not a current fact of ${input.subject}.${input.attribute}`, 409);
    if (target.status !== "believed") throw new MemoryInputError(`fact ${input.corrects} is held in an open conflict; resolve the conflict instead of correcting it`, 409);
    changes.push({ kind: "retire_fact", id: target.id, at, reason: "corrected" });
    others = others.filter((f) => f.id !== target.id);
    supersedes = target.id;
  }
  const overlapping = others.filter((f) => overlaps(f, validFrom, validTo));
  const same = overlapping.filter((f) => sameValue(f.value, input.value));
  const contradicting = input.cardinality === "one" ? overlapping.filter((f) => !sameValue(f.value, input.value)) : [];
  const record = (status: FactRecord["status"], from: number, to: number | null, replaces: number | null): FactRecord => ({
    id: ids.fact(),
    subject: input.subject,
    attribute: input.attribute,
    value: input.value,
    erased: false,
    provenance: provenanceOf(input, writer),
    recordedAt: at,
    retiredAt: null,
    retiredReason: null,
    validFrom: from,
    validTo: to,
    status,
    supersedes: replaces,
    freshForMs: input.freshForMs ?? null,
  });
  if (!contradicting.length) {
    let from = validFrom;
    let to = validTo;
    for (const f of same) {
      changes.push({ kind: "retire_fact", id: f.id, at, reason: "reaffirmed" });
      from = Math.min(from, f.validFrom);
      to = to === null || f.validTo === null ? null : Math.max(to, f.validTo);
    }
    changes.push({ kind: "insert_fact", fact: record("believed", from, to, supersedes ?? same[0]?.id ?? null) });
    return changes;
  }
  const proposed = record("contested", validFrom, validTo, supersedes);
  changes.push({ kind: "insert_fact", fact: proposed });
  const conflicts: ConflictRecord[] = contradicting.map((f) => ({ id: ids.conflict(), subject: input.subject, attribute: input.attribute, existingId: f.id, proposedId: proposed.id, detectedAt: at, resolvedAt: null, resolution: null }));
  for (const c of conflicts) changes.push({ kind: "insert_conflict", conflict: c });
  if (input.resolveRule === "newer_human_supersedes" && input.sourceKind === "human") {
    // the newer human entry wins: the older facts keep their past where they started earlier (both, with validity), otherwise they are replaced
    const kind = contradicting.every((f) => f.validFrom < proposed.validFrom) ? "both_with_validity" : "accept_new";
    changes.push(...planResolution(conflicts[0], proposed, others, conflicts.slice(1), { kind }, at, { kind: "rule", id: "newer_human_supersedes" }, ids));
  }
  return changes;
}

/**
 * Resolves an open conflict (and with it every other open conflict of the same proposed record),
 * against what the memory believes now (`current`: the believed records of the subject and
 * attribute). keep_old: the proposed record is rejected. accept_new: the believed records it
 * contradicts are retired. both_with_validity: they stand for different periods (by default each
 * contradicted record ends where the proposed one starts). The proposed record then becomes
 * believed as a new record, recorded now.
 */
export function planResolution(conflict: ConflictRecord, proposed: FactRecord, current: readonly FactRecord[], otherOpen: readonly ConflictRecord[], req: ResolveRequest, at: number, by: Resolver, ids: IdSource): MemoryChange[] {
  if (conflict.resolvedAt !== null) throw new MemoryInputError(`conflict ${conflict.id} is already resolved (${conflict.resolution?.kind})`, 409);
  const tag = `conflict ${conflict.id}`;
  const resolution: Resolution = { kind: req.kind, by, ...(req.note ? { note: req.note } : {}) };
  const changes: MemoryChange[] = [{ kind: "resolve_conflict", id: conflict.id, at, resolution }];
  for (const o of otherOpen) changes.push({ kind: "resolve_conflict", id: o.id, at, resolution: { ...resolution, note: `closed with ${tag}` } });
  if (req.kind === "keep_old") {
    if (proposed.retiredAt === null) changes.push({ kind: "retire_fact", id: proposed.id, at, reason: `rejected (${tag})` });
    return changes;
  }
  if (proposed.retiredAt !== null) throw new MemoryInputError(`the proposed fact ${proposed.id} is no longer held (${proposed.retiredReason}); only keep_old is possible`, 409);
  const proposedValidity: Validity = req.kind === "both_with_validity" && req.validity?.proposed ? req.validity.proposed : { validFrom: proposed.validFrom, validTo: proposed.validTo };
  checkValidity(proposedValidity, `${tag}: the proposed fact's validity`);
  const contradicted = current.filter((f) => f.status === "believed" && f.id !== proposed.id && !sameValue(f.value, proposed.value) && overlaps(f, proposed.validFrom, proposed.validTo));
  for (const f of contradicted) {
    if (req.kind === "accept_new") {
      changes.push({ kind: "retire_fact", id: f.id, at, reason: `superseded (${tag})` });
      continue;
    }
    const explicit = f.id === conflict.existingId ? req.validity?.existing : undefined;
    if (!explicit && f.validFrom >= proposedValidity.validFrom) throw new MemoryInputError(`${tag}: fact ${f.id} starts no earlier than the proposed one, so it cannot simply end where that starts; give validity explicitly or accept_new`, 409);
    const v = explicit ?? { validFrom: f.validFrom, validTo: proposedValidity.validFrom };
    checkValidity(v, `${tag}: the validity of fact ${f.id}`);
    if (overlaps(v, proposedValidity.validFrom, proposedValidity.validTo)) throw new MemoryInputError(`${tag}: both_with_validity needs periods that do not overlap (fact ${f.id} is valid from ${iso(v.validFrom)})`);
    changes.push({ kind: "retire_fact", id: f.id, at, reason: `revalidated (${tag})` });
    changes.push({ kind: "insert_fact", fact: { ...f, id: ids.fact(), recordedAt: at, retiredAt: null, retiredReason: null, ...v, supersedes: f.id } });
  }
  changes.push({ kind: "retire_fact", id: proposed.id, at, reason: `accepted (${tag})` });
  changes.push({ kind: "insert_fact", fact: { ...proposed, id: ids.fact(), recordedAt: at, retiredAt: null, retiredReason: null, ...proposedValidity, status: "believed", supersedes: proposed.id } });
  return changes;
}

/** Retracts a current fact: it stops being believed from now on (its history stays). */
export function planRetraction(fact: FactRecord | undefined, openConflicts: readonly ConflictRecord[], at: number, by: string, reason: string): MemoryChange[] {
  if (!fact) throw new MemoryInputError("no such fact", 404);
  if (fact.retiredAt !== null) throw new MemoryInputError(`fact ${fact.id} is not current (${fact.retiredReason})`, 409);
  if (openConflicts.length) throw new MemoryInputError(`fact ${fact.id} is part of open conflict ${openConflicts[0].id}; resolve it first`, 409);
  return [{ kind: "retire_fact", id: fact.id, at, reason: `retracted by ${by}: ${reason}` }];
}

/**
 * Right to erasure: every record of the subject (optionally one attribute), current or past,
 * loses its value; the tombstone keeps its provenance and times. Current records are retired and
 * their open conflicts closed, so nothing erased is believed any longer.
 */
export function planErasure(facts: readonly FactRecord[], openConflicts: readonly ConflictRecord[], at: number, by: string, reason: string): MemoryChange[] {
  const changes: MemoryChange[] = [];
  for (const f of facts) {
    if (f.retiredAt === null) changes.push({ kind: "retire_fact", id: f.id, at, reason: `erased by ${by}` });
    if (!f.erased) changes.push({ kind: "erase_fact", id: f.id });
  }
  for (const c of openConflicts) changes.push({ kind: "resolve_conflict", id: c.id, at, resolution: { kind: "erased", by: { kind: "person", id: by }, note: reason } });
  return changes;
}

const iso = (t: number) => new Date(t).toISOString();
