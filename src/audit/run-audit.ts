/**
 * What a run's audit trail says about each event: the audit record for an event of the run's
 * log, redacted, attributed to an actor, stamped with the policy set in force and a retention
 * deadline. Pure: the run's Durable Object calls it inside the transaction that appends the
 * event, so the event and its audit entry are written together or not at all.
 */
import type { Actor, RunEvent } from "../engine/events.ts";
import type { LoadedPolicy, RunState } from "../engine/run-state.ts";
import type { Policy } from "../policy/policy-schema.ts";
import { DAY_MS, DEFAULT_RETENTION_DAYS, type ActorKind, type AuditRecord } from "./audit-entry.ts";
import { runStream } from "./audit-streams.ts";
import { redact } from "./redaction.ts";

export { runStream, tenantStream } from "./audit-streams.ts";

export interface AuditSettings {
  /** field rules from every level's `redact.fields` (a union: a field redacted anywhere is redacted) */
  fields: string[];
  /** detector kinds (`redact.builtin`, a union) also masked in what people see of a run, such as an approval's context; the audit trail masks every kind */
  shownKinds: string[];
  /** the longest retention any level asks for, never below the 183-day floor */
  retentionDays: number;
}

const DEFAULTS: AuditSettings = { fields: [], shownKinds: [], retentionDays: DEFAULT_RETENTION_DAYS };
const settingsCache = new WeakMap<LoadedPolicy, AuditSettings>();

/** Merges the audit settings of a policy set: most restrictive wins (more fields redacted, longer retention). */
export function auditSettings(loaded: LoadedPolicy | null): AuditSettings {
  if (!loaded) return DEFAULTS;
  let hit = settingsCache.get(loaded);
  if (!hit) {
    hit = mergeAuditSettings(loaded.entries.map((e) => e.policy as Partial<Policy> | null));
    settingsCache.set(loaded, hit);
  }
  return hit;
}

export function mergeAuditSettings(policies: Array<Partial<Policy> | null | undefined>): AuditSettings {
  const fields = new Set<string>();
  const kinds = new Set<string>();
  let days = DEFAULT_RETENTION_DAYS;
  for (const p of policies) {
    for (const f of p?.redact?.fields ?? []) fields.add(f);
    for (const k of p?.redact?.builtin ?? []) kinds.add(k);
    if (p?.retention?.days && p.retention.days > days) days = p.retention.days;
  }
  return { fields: [...fields].sort(), shownKinds: [...kinds].sort(), retentionDays: days };
}

/** What a person is shown of a run's state (an approval's context): the policy's field rules and its `redact.builtin` kinds applied. */
export function redactedForPeople(scope: Record<string, unknown>, loaded: LoadedPolicy | null): Record<string, unknown> {
  const settings = auditSettings(loaded);
  if (!settings.fields.length && !settings.shownKinds.length) return scope;
  return redact(scope, { fields: settings.fields, kinds: settings.shownKinds }).value as Record<string, unknown>;
}

/** Who an actor is, for the audit trail: people by their subject; services (webhooks, schedulers) as services. */
export function actorOf(a: Actor): { kind: ActorKind; id: string } {
  return { kind: /^(webhook|service|system):/.test(a.sub) ? "service" : "user", id: a.sub };
}

const SYSTEM = { kind: "system" as const, id: "warden" };

function eventActor(e: RunEvent): { kind: ActorKind; id: string } {
  const d = e.data as Record<string, unknown>;
  if (e.type === "approval.decided" || e.type === "approval.viewed") return { kind: "approver", id: String(d.by) };
  const a = d.actor as Actor | undefined;
  if (a && typeof a === "object" && typeof a.sub === "string") return actorOf(a);
  return SYSTEM;
}

/** What of the event goes into the audit payload: everything but the parts the entry already names (the workflow document is identified by its hash). */
function payloadOf(e: RunEvent): Record<string, unknown> {
  if (e.type === "run.started") {
    const d = e.data;
    return { eventSeq: e.seq, input: d.input, workflow: d.workflow, actor: d.actor };
  }
  return { eventSeq: e.seq, ...(e.data as Record<string, unknown>) };
}

/** The audit record for one event of a run (`s` is the run's state after the event). */
export function auditRecordForEvent(s: RunState, e: RunEvent): AuditRecord {
  const settings = auditSettings(s.policy);
  const { value, redactions } = redact(payloadOf(e), { fields: settings.fields });
  return {
    tenant: s.tenant,
    stream: runStream(s.runId),
    at: e.at,
    runId: s.runId,
    workflow: { id: s.workflow.id, version: s.workflow.version, hash: s.workflow.hash },
    actor: eventActor(e),
    type: e.type,
    payload: value,
    policyHash: s.policy?.hash ?? null,
    redactions,
    retainUntil: e.at + settings.retentionDays * DAY_MS,
  };
}


