/**
 * The one-page evidence report for a run: the five questions an auditor asks, each answered
 * from the run's (redacted) audit trail and checked against it — what the agent saw, decided
 * and did; whether the run replays exactly; which guardrails were in force; whether a human
 * reviewed it; how long its data is kept and who has read it. Pure: the route gathers the
 * inputs, this shapes the answer.
 */
import type { ReplayResult } from "../engine/replay.ts";
import type { RunSummary } from "../engine/run-summary.ts";
import type { AuditEntry } from "./audit-entry.ts";
import type { Hold } from "./audit-store.ts";
import type { PurgeRecord, SealRecord } from "./audit-rows.ts";

export interface IntegrityCheck {
  ok: boolean;
  entries: number;
  seals: number;
  purges: number;
  problems: Array<{ kind: string; seq?: number; message: string }>;
  /** entries committed with the run but not yet in the audit database */
  pendingShipment: number;
}

export interface EvidenceInput {
  run: RunSummary;
  trail: AuditEntry[];
  seals: SealRecord[];
  purges: PurgeRecord[];
  integrity: IntegrityCheck;
  replay: ReplayResult | { ok: false; message: string; seq?: number };
  holds: Hold[];
  reads: AuditEntry[];
  generatedAt: number;
}

type P = Record<string, unknown>;
const iso = (t: number) => new Date(t).toISOString();

export interface EvidenceReport {
  run: { id: string; tenant: string; workflow: RunSummary["workflow"]; status: string; startedBy: string; createdAt: string; updatedAt: string; output: unknown; error: unknown };
  generatedAt: string;
  integrity: IntegrityCheck & { sealedThrough: number | null };
  whatHappened: { steps: Array<{ seq: number; at: string; type: string; node?: string; detail: string }>; llmCalls: number; toolCalls: number; tokens: { input: number; output: number } };
  replay: { exact: boolean; detail: string };
  guardrails: {
    policySets: Array<{ hash: string; at: string; levels: Array<{ level: string; version: number | null }> }>;
    decisions: { allow: number; deny: number; require_approval: number; shadow: number };
    notable: Array<{ seq: number; at: string; action: string; effect: string; rules: string[]; reason: string; shadow: unknown }>;
  };
  humanReview: {
    reviewed: boolean;
    approvals: Array<{ approvalId: string; requestedAt: string; outcome: string | null; decisions: Array<{ by: string; decision: string; via: string; at: string }>; escalations: number }>;
    operatorActions: Array<{ at: string; type: string; by: string }>;
  };
  retention: { retainUntil: { earliest: string | null; latest: string | null }; holds: Array<{ id: string; scope: string; scopeId: string; reason: string; placedBy: string; placedAt: string; released: boolean }>; purges: Array<{ fromSeq: number; toSeq: number; count: number; purgedAt: string }>; reads: Array<{ at: string; by: string; what: string }> };
}

function stepDetail(e: AuditEntry): string | null {
  const d = e.payload as P;
  switch (e.type) {
    case "llm.started": {
      const r = d.request as P | undefined;
      return `asked ${String(r?.provider)}/${String(r?.model)} (${(r?.messages as unknown[] | undefined)?.length ?? 0} messages, tools: ${((r?.tools as string[] | undefined) ?? []).join(", ") || "none"})`;
    }
    case "llm.completed": {
      const r = d.response as P | undefined;
      const calls = ((r?.toolCalls as Array<{ name: string }> | undefined) ?? []).map((c) => c.name);
      const text = typeof r?.text === "string" ? `“${r.text.slice(0, 200)}${r.text.length > 200 ? "…" : ""}”` : "";
      return `model answered ${text}${calls.length ? ` and asked for tools: ${calls.join(", ")}` : ""}`;
    }
    case "llm.failed":
    case "tool.failed":
      return `failed: ${String((d.error as P | undefined)?.message)}`;
    case "tool.started":
      return `called ${String(d.tool)} with ${JSON.stringify(d.args).slice(0, 200)}`;
    case "tool.completed":
      return `result ${JSON.stringify((d.result as P | undefined)?.body).slice(0, 200)}`;
    case "node.completed":
      return d.via ? `took branch ${String(d.via)} → ${String(d.next)}` : null;
    case "policy.decision":
      return d.effect === "allow" ? null : `policy ${String(d.effect)}: ${String(d.reason)}`;
    case "approval.decided":
      return `${String(d.by)} decided ${String(d.decision)} via ${String(d.via)}`;
    case "run.started":
      return `started by ${e.actor.id}`;
    case "run.completed":
      return `completed with ${JSON.stringify(d.output).slice(0, 200)}`;
    case "run.failed":
      return `failed: ${JSON.stringify(d.error ?? d).slice(0, 200)}`;
    case "run.halted":
    case "run.paused":
    case "run.resumed":
      return `${e.type.slice(4)} by ${e.actor.id}`;
    default:
      return null;
  }
}

export function evidenceReport(x: EvidenceInput): EvidenceReport {
  const t = x.trail;
  const steps = t.flatMap((e) => {
    const detail = stepDetail(e);
    const node = (e.payload as P).node;
    return detail ? [{ seq: e.seq, at: iso(e.at), type: e.type, ...(typeof node === "string" ? { node } : {}), detail }] : [];
  });
  let input = 0;
  let output = 0;
  for (const e of t) {
    if (e.type !== "llm.completed") continue;
    const u = ((e.payload as P).response as P | undefined)?.usage as { inputTokens?: number; outputTokens?: number } | undefined;
    input += u?.inputTokens ?? 0;
    output += u?.outputTokens ?? 0;
  }
  const decisions = { allow: 0, deny: 0, require_approval: 0, shadow: 0 };
  const notable: EvidenceReport["guardrails"]["notable"] = [];
  for (const e of t.filter((e) => e.type === "policy.decision")) {
    const d = e.payload as P;
    const effect = String(d.effect) as keyof typeof decisions;
    if (effect in decisions) decisions[effect]++;
    if (d.shadow) decisions.shadow++;
    if (effect !== "allow" || d.shadow) notable.push({ seq: e.seq, at: iso(e.at), action: String(d.action), effect, rules: (d.rules as string[] | undefined) ?? [], reason: String(d.reason), shadow: d.shadow ?? null });
  }
  const policySets = t
    .filter((e) => e.type === "policy.loaded")
    .map((e) => {
      const d = e.payload as { hash: string; entries: Array<{ level: string; version: number | null }> };
      return { hash: d.hash, at: iso(e.at), levels: d.entries.map((l) => ({ level: l.level, version: l.version })) };
    });
  const approvals = new Map<string, EvidenceReport["humanReview"]["approvals"][number]>();
  for (const e of t) {
    if (!e.type.startsWith("approval.")) continue;
    const d = e.payload as P;
    const id = String(d.approvalId);
    if (e.type === "approval.requested") approvals.set(id, { approvalId: id, requestedAt: iso(e.at), outcome: null, decisions: [], escalations: 0 });
    const a = approvals.get(id);
    if (!a) continue;
    if (e.type === "approval.decided") a.decisions.push({ by: String(d.by), decision: String(d.decision), via: String(d.via), at: iso(e.at) });
    if (e.type === "approval.escalated") a.escalations++;
    if (e.type === "approval.resolved") a.outcome = String(d.outcome);
  }
  const operatorActions = t.filter((e) => ["run.paused", "run.resumed", "run.halted", "run.attention_resolved", "approval.reassigned", "approval.cancelled"].includes(e.type)).map((e) => ({ at: iso(e.at), type: e.type, by: e.actor.id }));
  const retain = t.map((e) => e.retainUntil);
  const lastSeal = x.seals.reduce<number | null>((m, s) => (m === null || s.seq > m ? s.seq : m), null);
  return {
    run: { id: x.run.id, tenant: x.run.tenant, workflow: x.run.workflow, status: x.run.status, startedBy: x.run.startedBy, createdAt: x.run.createdAt, updatedAt: x.run.updatedAt, output: x.run.output, error: x.run.error },
    generatedAt: iso(x.generatedAt),
    integrity: { ...x.integrity, sealedThrough: lastSeal },
    whatHappened: { steps, llmCalls: t.filter((e) => e.type === "llm.completed").length, toolCalls: t.filter((e) => e.type === "tool.completed").length, tokens: { input, output } },
    replay: x.replay.ok ? { exact: true, detail: `re-folded ${x.replay.events} events through the interpreter: all ${x.replay.decisions} decisions reproduced exactly` } : { exact: false, detail: x.replay.message },
    guardrails: { policySets, decisions, notable },
    humanReview: { reviewed: [...approvals.values()].some((a) => a.decisions.length > 0), approvals: [...approvals.values()], operatorActions },
    retention: {
      retainUntil: { earliest: retain.length ? iso(Math.min(...retain)) : null, latest: retain.length ? iso(Math.max(...retain)) : null },
      holds: x.holds.filter((h) => !h.released).map((h) => ({ id: h.id, scope: h.scope, scopeId: h.scopeId, reason: h.reason, placedBy: h.placedBy, placedAt: iso(h.placedAt), released: false })),
      purges: x.purges.map((p) => ({ fromSeq: p.fromSeq, toSeq: p.toSeq, count: p.count, purgedAt: iso(p.purgedAt) })),
      reads: x.reads.map((e) => ({ at: iso(e.at), by: e.actor.id, what: e.type.replace(/^read\./, "") })),
    },
  };
}
