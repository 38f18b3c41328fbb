/**
 * Reading memory at an instant, pure: which records the memory held at transaction time t
 * (recorded at or before t, not yet retired at t), which of those were believed and valid at
 * valid time v, and which were stale (older than their freshness window at the time of reading).
 * The Durable Object's SQL queries select the same records; these functions are the definition.
 */
import type { FactRecord, FactView } from "./fact-model.ts";

export interface ReadQuery {
  subject?: string;
  attributes?: readonly string[];
  /** transaction time: what the memory held then (default: now) */
  asOf?: number | null;
  /** valid time: what was true in the world then (default: the read's instant); null: every period */
  validAt?: number | null;
}

export function heldAt(f: FactRecord, t: number): boolean {
  return f.recordedAt <= t && (f.retiredAt === null || f.retiredAt > t);
}

export function validAt(f: FactRecord, v: number): boolean {
  return f.validFrom <= v && (f.validTo === null || v < f.validTo);
}

export function isStale(f: FactRecord, at: number): boolean {
  return f.freshForMs !== null && at - f.recordedAt > f.freshForMs;
}

export function matches(f: FactRecord, q: ReadQuery): boolean {
  return (q.subject === undefined || f.subject === q.subject) && (!q.attributes?.length || q.attributes.includes(f.attribute));
}

/** Orders a read's records the same way in every implementation: by subject, attribute, valid time, id. */
export function byFactOrder(a: FactRecord, b: FactRecord): number {
  return a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : a.attribute < b.attribute ? -1 : a.attribute > b.attribute ? 1 : a.validFrom - b.validFrom || a.id - b.id;
}

/** A record as it was held at `at`: a retirement that came later is not shown (it had not happened yet). */
export function viewOf(f: FactRecord, at: number): FactView {
  const later = f.retiredAt !== null && f.retiredAt > at;
  return { ...f, ...(later ? { retiredAt: null, retiredReason: null } : {}), stale: isStale(f, at) };
}

/**
 * Splits the records held at `t` into believed facts (valid at `v` unless v is null) and
 * contested ones (held in an open conflict, whatever their validity).
 */
export function selectAt(held: readonly FactRecord[], t: number, v: number | null): { facts: FactView[]; contested: FactView[] } {
  const facts: FactView[] = [];
  const contested: FactView[] = [];
  for (const f of [...held].sort(byFactOrder)) {
    if (f.status === "contested") contested.push(viewOf(f, t));
    else if (v === null || validAt(f, v)) facts.push(viewOf(f, t));
  }
  return { facts, contested };
}
