/**
 * A conflict as the API shows it (with its two records) and as the tenant's registry indexes it
 * (without values: the index outlives an erasure and must not keep what was erased).
 */
import type { ConflictRecord, FactRecord, Resolution } from "./fact-model.ts";

export type MemoryConflictView = ConflictRecord & { scope: string; existing?: FactRecord; proposed?: FactRecord };

export interface MemoryConflictIndexEntry {
  scope: string;
  id: number;
  subject: string;
  attribute: string;
  status: "open" | "resolved";
  detectedAt: number;
  resolvedAt: number | null;
  resolution: Resolution | null;
  existing: { id: number; sourceKind: string | null };
  proposed: { id: number; sourceKind: string | null };
}

export function conflictIndexEntry(v: MemoryConflictView): MemoryConflictIndexEntry {
  return {
    scope: v.scope,
    id: v.id,
    subject: v.subject,
    attribute: v.attribute,
    status: v.resolvedAt === null ? "open" : "resolved",
    detectedAt: v.detectedAt,
    resolvedAt: v.resolvedAt,
    resolution: v.resolution,
    existing: { id: v.existingId, sourceKind: v.existing?.provenance.sourceKind ?? null },
    proposed: { id: v.proposedId, sourceKind: v.proposed?.provenance.sourceKind ?? null },
  };
}
