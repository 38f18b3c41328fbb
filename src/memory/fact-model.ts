/**
 * The fact model of agent memory: (subject, attribute, value) with provenance and two time
 * axes. Transaction time (`recordedAt` … `retiredAt`) is when the memory held a record;
 * valid time (`validFrom` … `validTo`) is when the fact is true in the world. Records are
 * never changed except to be retired (their transaction time ends) or erased (the value is
 * removed, the tombstone with its provenance stays). Schemas here validate what crosses the
 * Durable Object boundary and what is stored in run events.
 */
import { z } from "zod";
import { jsonEqual } from "../engine/canonical-json.ts";

export const SOURCE_KINDS = ["user_input", "tool_result", "model_inference", "human"] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export const RESOLUTION_KINDS = ["keep_old", "accept_new", "both_with_validity"] as const;
export type ResolutionKind = (typeof RESOLUTION_KINDS)[number];

/** Declared rules that resolve a conflict without a person. */
export const RESOLVE_RULES = ["newer_human_supersedes"] as const;
export type ResolveRule = (typeof RESOLVE_RULES)[number];

export const memoryName = z.string().regex(/^[A-Za-z0-9][\w.@:+-]{0,127}$/, "must be 1-128 chars of letters, digits and . _ @ : + - starting with a letter or digit");

export const provenanceSchema = z.object({
  sourceKind: z.enum(SOURCE_KINDS),
  confidence: z.number().min(0).max(1),
  runId: z.string().optional(),
  /** the seq of the run event that wrote the fact */
  eventSeq: z.number().int().positive().optional(),
  node: z.string().optional(),
  /** the person who entered or resolved it */
  actor: z.string().optional(),
});
export type Provenance = z.output<typeof provenanceSchema>;

export const factRecordSchema = z.object({
  id: z.number().int().positive(),
  subject: z.string(),
  attribute: z.string(),
  /** null once erased */
  value: z.unknown(),
  erased: z.boolean(),
  provenance: provenanceSchema,
  recordedAt: z.number(),
  retiredAt: z.number().nullable(),
  retiredReason: z.string().nullable(),
  validFrom: z.number(),
  validTo: z.number().nullable(),
  /** believed: part of what the memory holds true; contested: recorded with an open conflict, not believed until resolved */
  status: z.enum(["believed", "contested"]),
  /** the record this one replaces (a correction, a reaffirmation, a resolution) */
  supersedes: z.number().int().positive().nullable(),
  freshForMs: z.number().int().positive().nullable(),
});
export type FactRecord = z.output<typeof factRecordSchema>;

/** A record as a reader saw it: with whether it was older than its freshness window at the time of the read. */
export const factViewSchema = factRecordSchema.extend({ stale: z.boolean() });
export type FactView = z.output<typeof factViewSchema>;

export const resolverSchema = z.object({ kind: z.enum(["person", "rule"]), id: z.string() });
export type Resolver = z.output<typeof resolverSchema>;

export const resolutionSchema = z.object({
  kind: z.enum([...RESOLUTION_KINDS, "erased"]),
  by: resolverSchema,
  note: z.string().optional(),
});
export type Resolution = z.output<typeof resolutionSchema>;

export const conflictRecordSchema = z.object({
  id: z.number().int().positive(),
  subject: z.string(),
  attribute: z.string(),
  existingId: z.number().int().positive(),
  proposedId: z.number().int().positive(),
  detectedAt: z.number(),
  resolvedAt: z.number().nullable(),
  resolution: resolutionSchema.nullable(),
});
export type ConflictRecord = z.output<typeof conflictRecordSchema>;

const validity = z.object({ validFrom: z.number().int(), validTo: z.number().int().nullable() });
export type Validity = z.output<typeof validity>;

/** One fact to write, as the engine or the API asks for it. */
export const factInputSchema = z.object({
  subject: memoryName,
  attribute: memoryName,
  value: z.unknown().refine((v) => v !== undefined && v !== null, "a fact needs a value (to remove one, retract or erase it)"),
  sourceKind: z.enum(SOURCE_KINDS),
  confidence: z.number().min(0).max(1).default(1),
  validFrom: z.number().int().optional(),
  validTo: z.number().int().nullable().optional(),
  /** one: a single value at a time (a different overlapping value is a conflict); many: a set of values */
  cardinality: z.enum(["one", "many"]).default("one"),
  freshForMs: z.number().int().positive().nullable().optional(),
  resolveRule: z.enum(RESOLVE_RULES).optional(),
  /** the id of a current fact this one corrects (it is retired, not contradicted) */
  corrects: z.number().int().positive().optional(),
});
export type FactInput = z.output<typeof factInputSchema>;

/** Who writes: a run's memory node (its event), or a person through the API. */
export const writerSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("run"), runId: z.string(), node: z.string(), eventSeq: z.number().int().positive() }),
  z.object({ kind: z.literal("person"), sub: z.string() }),
]);
export type Writer = z.output<typeof writerSchema>;

export const resolveRequestSchema = z.object({
  kind: z.enum(RESOLUTION_KINDS),
  /** both_with_validity: the periods each fact is valid for (default: the old one ends when the new one starts) */
  validity: z.object({ existing: validity.optional(), proposed: validity.optional() }).optional(),
  note: z.string().max(2000).optional(),
});
export type ResolveRequest = z.output<typeof resolveRequestSchema>;

/** What a read returns: believed facts, facts held in an open conflict, and when the read happened. */
export const memoryReadResultSchema = z.object({
  readAt: z.number(),
  asOf: z.number().nullable(),
  validAt: z.number().nullable(),
  facts: z.array(factViewSchema),
  contested: z.array(factViewSchema),
});
export type MemoryReadResult = z.output<typeof memoryReadResultSchema>;

export const memoryWriteResultSchema = z.object({
  /** every record the write inserted (believed or contested) */
  facts: z.array(factRecordSchema),
  /** records the write retired (corrected, reaffirmed, superseded by a rule) */
  retired: z.array(z.object({ id: z.number(), reason: z.string() })),
  conflicts: z.array(conflictRecordSchema),
  replayed: z.boolean(),
});
export type MemoryWriteResult = z.output<typeof memoryWriteResultSchema>;

export class MemoryInputError extends Error {
  readonly status: 404 | 409 | 422;
  constructor(message: string, status: 404 | 409 | 422 = 422) {
    super(message);
    this.status = status;
    this.name = "MemoryInputError";
  }
}

export function sameValue(a: unknown, b: unknown): boolean {
  return jsonEqual(a, b);
}
