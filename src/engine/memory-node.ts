/**
 * The `memory` node, pure. A read is one memory call whose result (the exact facts, stale ones
 * marked) is recorded as `memory.read`. A write first checks what the memory believes about
 * the facts it would write (`memory.read`, op check), so the policy gate can see what the write
 * would contradict (`call.args.conflicts`: a rule may deny a model inference that contradicts a
 * human fact, or require approval); then it writes (`memory.written`) and surfaces every
 * conflict the memory recorded as a `memory.conflict` event. Replay takes the recorded results
 * and never calls the memory again.
 */
import { factInputSchema, sameValue, type FactInput, type FactRecord, type FactView, type MemoryReadResult } from "../memory/fact-model.ts";
import { overlaps } from "../memory/memory-plan.ts";
import { parseDuration } from "./duration.ts";
import type { NewEvent } from "./events.ts";
import type { CallSpec } from "./policy-gate.ts";
import type { RunState } from "./run-state.ts";
import { render, renderString } from "./template.ts";
import type { MemoryNode, WorkflowDocument } from "./workflow-schema.ts";

type Decision = { kind: "append"; events: NewEvent[] } | { kind: "idle"; reason: string } | { kind: "execute"; call: NonNullable<RunState["call"]> } | { kind: "wait"; until: number };

export interface MemoryNodeHelpers {
  finish(output: unknown): Decision;
  fail(message: string): Decision;
  gated(spec: CallSpec, start: () => Decision): Decision;
  callId(): string;
  idempotencyKey(callId: string): string;
}

const SCOPE = /^[A-Za-z0-9][\w.@:+-]{0,127}$/;

/** A time from a template: an ISO 8601 string or milliseconds since the epoch. */
export function renderTime(template: string | undefined, scope: Record<string, unknown>, what: string): number | undefined {
  if (template === undefined) return undefined;
  const v = renderString(template, scope);
  if (v === null || v === undefined || v === "") return undefined;
  const t = typeof v === "number" ? v : /^\d+$/.test(String(v)) ? Number(v) : Date.parse(String(v));
  if (!Number.isFinite(t)) throw new Error(`${what}: "${String(v)}" is not a time (ISO 8601 or milliseconds)`);
  return t;
}

/** The facts a write node asks for, each with its attribute's declaration (cardinality, freshness, rule). */
export function factInputsFor(node: MemoryNode, doc: WorkflowDocument, scope: Record<string, unknown>): FactInput[] {
  return (node.write ?? []).map((f, i) => {
    const decl = doc.memory.attributes[f.attribute];
    const validFrom = renderTime(f.validFrom, scope, `write[${i}].validFrom`);
    const validTo = renderTime(f.validTo, scope, `write[${i}].validTo`);
    const parsed = factInputSchema.safeParse({
      subject: String(renderString(f.subject, scope) ?? ""),
      attribute: f.attribute,
      value: render(f.value, scope),
      sourceKind: f.source,
      confidence: f.confidence,
      ...(validFrom !== undefined ? { validFrom } : {}),
      ...(validTo !== undefined ? { validTo } : {}),
      cardinality: decl?.cardinality ?? "one",
      ...(decl?.freshFor ? { freshForMs: parseDuration(decl.freshFor) } : {}),
      ...(decl?.resolve ? { resolveRule: decl.resolve } : {}),
    });
    if (!parsed.success) throw new Error(`write[${i}].${parsed.error.issues[0].path.join(".")}: ${parsed.error.issues[0].message}`);
    return parsed.data;
  });
}

/** What each fact would contradict among the believed facts the check returned (what the policy sees). */
export function predictedConflicts(inputs: readonly FactInput[], checked: MemoryReadResult, at: number) {
  const out: Array<{ subject: string; attribute: string; existing: { id: number; value: unknown; sourceKind: string; confidence: number }; proposed: { value: unknown; sourceKind: string; confidence: number } }> = [];
  for (const f of inputs) {
    if (f.cardinality !== "one") continue;
    const from = f.validFrom ?? at;
    const to = f.validTo ?? null;
    for (const e of checked.facts) {
      if (e.subject !== f.subject || e.attribute !== f.attribute || e.id === f.corrects || sameValue(e.value, f.value) || !overlaps(e, from, to)) continue;
      out.push({ subject: f.subject, attribute: f.attribute, existing: { id: e.id, value: e.value, sourceKind: e.provenance.sourceKind, confidence: e.provenance.confidence }, proposed: { value: f.value, sourceKind: f.sourceKind, confidence: f.confidence } });
    }
  }
  return out;
}

/** A read's node output: the facts, the values by attribute (an array when several are valid), and whether any was stale. */
export function readOutput(r: MemoryReadResult) {
  const brief = (f: FactView) => ({ id: f.id, subject: f.subject, attribute: f.attribute, value: f.value, stale: f.stale, sourceKind: f.provenance.sourceKind, confidence: f.provenance.confidence, validFrom: f.validFrom, validTo: f.validTo });
  const values: Record<string, unknown> = {};
  for (const f of r.facts) values[f.attribute] = f.attribute in values ? [...(Array.isArray(values[f.attribute]) ? (values[f.attribute] as unknown[]) : [values[f.attribute]]), f.value] : f.value;
  return { facts: r.facts.map(brief), values, contested: r.contested.map(brief), stale: r.facts.some((f) => f.stale), asOf: r.asOf, readAt: r.readAt };
}

export function decideMemory(s: RunState, node: MemoryNode, scope: Record<string, unknown>, h: MemoryNodeHelpers): Decision {
  const cur = s.cursor!;
  const m = cur.memory ?? { conflictsSurfaced: 0 };
  const scopeName = String(renderString(node.scope, scope) ?? "");
  if (!SCOPE.test(scopeName)) return h.fail(`memory scope "${scopeName}" must be 1-128 chars of letters, digits and . _ @ : + -`);
  const start = (op: "read" | "check" | "write", request: unknown, callId = h.callId()): Decision => ({
    kind: "append",
    events: [{ type: "memory.started", data: { node: cur.node, callId, attempt: 1, idempotencyKey: h.idempotencyKey(callId), op, scope: scopeName, request } }],
  });
  if (node.read) {
    if (m.read) {
      const out = readOutput(m.read);
      if (!out.stale) return h.finish(out);
      // stale facts pass the policy gate before the run may use them: a rule can deny, or
      // require a person to re-verify them (call.args.stale lists them)
      const stale = out.facts.filter((f) => f.stale).map((f) => ({ id: f.id, subject: f.subject, attribute: f.attribute, value: f.value, sourceKind: f.sourceKind }));
      return h.gated({ callId: h.callId(), action: "memory.read", args: { scope: scopeName, stale } }, () => h.finish(out));
    }
    let asOf: number | undefined;
    try {
      asOf = renderTime(node.read.asOf, scope, "read.asOf");
    } catch (err) {
      return h.fail((err as Error).message);
    }
    const subject = String(renderString(node.read.subject, scope) ?? "");
    return start("read", { subject, attributes: node.read.attributes, ...(asOf !== undefined ? { asOf } : {}) });
  }
  let inputs: FactInput[];
  try {
    inputs = factInputsFor(node, s.doc, scope);
  } catch (err) {
    return h.fail((err as Error).message);
  }
  if (!m.checked) {
    const subjects = [...new Set(inputs.map((f) => f.subject))];
    return start("check", { ...(subjects.length === 1 ? { subject: subjects[0] } : {}), attributes: [...new Set(inputs.map((f) => f.attribute))], validAt: null });
  }
  if (!m.written) {
    const callId = h.callId();
    const conflicts = predictedConflicts(inputs, m.checked, m.checked.readAt);
    const args = { scope: scopeName, facts: inputs.map((f) => ({ subject: f.subject, attribute: f.attribute, value: f.value, sourceKind: f.sourceKind, confidence: f.confidence })), conflicts };
    // the fact's provenance names the event that starts the write: the next one in the log
    return h.gated({ callId, action: "memory.write", args }, () => start("write", { facts: inputs, writer: { kind: "run", runId: s.runId, node: cur.node, eventSeq: s.seq + 1 } }, callId));
  }
  const w = m.written;
  if (m.conflictsSurfaced < w.conflicts.length) {
    const callId = s.call?.callId ?? h.callId();
    return {
      kind: "append",
      events: w.conflicts.slice(m.conflictsSurfaced).map((c) => ({
        type: "memory.conflict" as const,
        data: { node: cur.node, callId, scope: scopeName, conflict: c, ...optional("existing", recordOf(w.facts.find((f) => f.id === c.existingId) ?? m.checked!.facts.find((f) => f.id === c.existingId))), ...optional("proposed", recordOf(w.facts.find((f) => f.id === c.proposedId))) },
      })),
    };
  }
  return h.finish({ facts: w.facts.map((f) => ({ id: f.id, subject: f.subject, attribute: f.attribute, value: f.value, status: f.status })), conflicts: w.conflicts.map((c) => ({ id: c.id, subject: c.subject, attribute: c.attribute, existingId: c.existingId, proposedId: c.proposedId, resolved: c.resolvedAt !== null, resolution: c.resolution?.kind ?? null })) });
}

/** A fact as stored (a read's `stale` mark belongs to the read). */
function recordOf(f: FactRecord | FactView | undefined): FactRecord | undefined {
  if (!f) return undefined;
  const { stale: _stale, ...rest } = f as FactView;
  return rest;
}

function optional<K extends string, V>(key: K, v: V | undefined): Partial<Record<K, V>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, V>);
}
