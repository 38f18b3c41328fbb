/**
 * What an AgentMemory object records on its own audit stream (`memory:<tenant>:<scope>`), in the
 * same transaction as the act: writes (with the facts written, redacted like every audit
 * payload), each conflict detected, resolutions, retractions and erasures (the erasure entry
 * names what was erased, never the values). A run's memory calls are also events of that run,
 * so its trail shows them too; reads through the API are audited by the API (`read.memory`).
 */
import { DAY_MS, type AuditRecord } from "../audit/audit-entry.ts";
import { memoryStream } from "../audit/audit-streams.ts";
import { redact } from "../audit/redaction.ts";
import { actorOf, mergeAuditSettings } from "../audit/run-audit.ts";
import type { ConflictRecord, FactRecord, Writer } from "./fact-model.ts";

export interface MemoryAuditItem {
  type: "memory.written" | "memory.conflict" | "memory.resolved" | "memory.retracted" | "memory.erased";
  by: Writer;
  payload: Record<string, unknown>;
}

const factSummary = (f: FactRecord) => ({ id: f.id, subject: f.subject, attribute: f.attribute, value: f.value, status: f.status, sourceKind: f.provenance.sourceKind, confidence: f.provenance.confidence, validFrom: f.validFrom, validTo: f.validTo, supersedes: f.supersedes });

/** The entries of one write: the write itself, then one per conflict it raised. */
export function writeAuditItems(by: Writer, facts: FactRecord[], retired: Array<{ id: number; reason: string }>, conflicts: ConflictRecord[]): MemoryAuditItem[] {
  return [
    { type: "memory.written", by, payload: { facts: facts.map(factSummary), retired, conflicts: conflicts.map((c) => c.id) } },
    ...conflicts.map((c): MemoryAuditItem => ({ type: "memory.conflict", by, payload: { conflictId: c.id, subject: c.subject, attribute: c.attribute, existingId: c.existingId, proposedId: c.proposedId } })),
  ];
}

/** The object does not hold the tenant's policy: built-in redaction, default retention. */
const settings = mergeAuditSettings([]);

export function memoryAuditRecord(tenant: string, scope: string, item: MemoryAuditItem, at: number): AuditRecord {
  const { value, redactions } = redact({ scope, ...item.payload }, { fields: settings.fields });
  return {
    tenant,
    stream: memoryStream(tenant, scope),
    at,
    runId: item.by.kind === "run" ? item.by.runId : null,
    workflow: null,
    actor: item.by.kind === "run" ? { kind: "service", id: `run:${item.by.runId}` } : actorOf({ sub: item.by.sub, roles: [] }),
    type: item.type,
    payload: value,
    policyHash: null,
    redactions,
    retainUntil: at + settings.retentionDays * DAY_MS,
  };
}
