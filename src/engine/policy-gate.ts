/**
 * The policy gate in the interpreter: before any call starts, decide it against the policy set
 * in force and record `policy.decision`; then start it (allow), refuse it (deny), or hold it
 * for a durable approval with the rule's approvers (require_approval). Pure.
 */
import { tally } from "../approvals/approval-state.ts";
import { decideCall, type PolicyAction, type PolicyEntry, type PolicyFacts } from "../policy/policy-decision.ts";
import { runScope } from "./run-scope.ts";
import { policySchema, type Policy } from "../policy/policy-schema.ts";
import type { NewEvent } from "./events.ts";
import type { RunState } from "./run-state.ts";
import { renderUrl } from "./template.ts";
import type { WorkflowNode } from "./workflow-schema.ts";

export type GateDecision = { kind: "append"; events: NewEvent[] } | { kind: "proceed" } | { kind: "refuse"; reason: string } | { kind: "hold" };

export interface CallSpec {
  callId: string;
  action: PolicyAction;
  tool?: string;
  args?: unknown;
  model?: string;
  host?: string;
  maxTokens?: number;
}

const nodePolicies = new WeakMap<object, Policy>();

function nodePolicy(node: WorkflowNode): Policy | null {
  if (!("policy" in node) || !node.policy) return null;
  let p = nodePolicies.get(node);
  if (!p) {
    p = policySchema.parse(node.policy);
    nodePolicies.set(node, p);
  }
  return p;
}

const loadedEntries = new WeakMap<object, PolicyEntry[]>();

function entriesFor(s: RunState, node: WorkflowNode): PolicyEntry[] {
  const loaded = s.policy!;
  let base = loadedEntries.get(loaded);
  if (!base) {
    base = loaded.entries.map((e) => ({ level: e.level, version: e.version, policy: policySchema.parse(e.policy) }));
    loadedEntries.set(loaded, base);
  }
  const np = nodePolicy(node);
  return np ? [...base, { level: "node", version: null, policy: np }] : base;
}

/** The host an HTTP tool would call, rendered the way the tool renders its URL. */
export function hostOf(urlTemplate: string, scope: Record<string, unknown>): string | undefined {
  try {
    return new URL(renderUrl(urlTemplate, scope)).host;
  } catch {
    return undefined;
  }
}

/** What a policy may look at besides the call: the run's input, outputs, counts and clock (from the log). */
export function policyFacts(s: RunState, scope: Record<string, unknown> = runScope(s)): PolicyFacts {
  const cur = s.cursor;
  return {
    tenant: s.tenant,
    workflow: s.workflow.id,
    input: s.input,
    nodes: (scope.nodes ?? {}) as Record<string, { output: unknown }>,
    counts: { steps: s.counters.steps, toolCalls: s.counters.toolCalls, llmCalls: s.counters.llmCalls, iterations: cur?.agent?.iteration ?? 0, inputTokens: s.counters.inputTokens, outputTokens: s.counters.outputTokens },
    costUsd: s.budget.spent.usdMicros / 1_000_000,
    now: s.lastAt,
  };
}

export function approvalIdForCall(runId: string, node: string, callId: string, visit: number): string {
  const n = callId.split(".").pop();
  return `${runId}.${node}_c${n}.${visit}`;
}

export function gate(s: RunState, node: WorkflowNode, spec: CallSpec, scope: Record<string, unknown>): GateDecision {
  if (!s.policy) return { kind: "proceed" }; // no governance loaded (pure tests of the interpreter)
  const cur = s.cursor!;
  const pd = cur.policyDecision;
  if (!pd || pd.callId !== spec.callId) {
    const req = { action: spec.action, node: cur.node, ...(spec.tool !== undefined ? { tool: spec.tool, args: spec.args } : {}), ...(spec.action === "memory.write" || spec.action === "memory.read" ? { args: spec.args } : {}), ...(spec.model !== undefined ? { model: spec.model } : {}), ...(spec.maxTokens !== undefined ? { maxTokens: spec.maxTokens } : {}), ...(spec.host !== undefined ? { host: spec.host } : {}) };
    const d = decideCall(entriesFor(s, node), req, policyFacts(s, scope));
    return {
      kind: "append",
      events: [
        {
          type: "policy.decision",
          data: {
            node: cur.node,
            callId: spec.callId,
            action: spec.action,
            effect: d.effect,
            rules: d.rules,
            reason: d.reason,
            policyHash: s.policy.nodeHashes[cur.node] ?? s.policy.hash,
            request: { ...(spec.tool !== undefined ? { tool: spec.tool } : {}), ...(spec.model !== undefined ? { model: spec.model } : {}), ...(spec.host !== undefined ? { host: spec.host } : {}) },
            ...(d.approvers ? { approvers: d.approvers } : {}),
            shadow: d.shadow,
          },
        },
      ],
    };
  }
  if (pd.effect === "allow") return { kind: "proceed" };
  if (pd.effect === "deny") return { kind: "refuse", reason: `denied by policy: ${pd.reason}` };
  const ca = cur.callApproval?.callId === spec.callId ? cur.callApproval : undefined;
  if (!ca) {
    const approvers = pd.approvers ?? { users: [], roles: [], quorum: 1 };
    const what = spec.action === "memory.write" ? `write to memory ${JSON.stringify(spec.args ?? {})}` : spec.action === "memory.read" ? `use of stale memory ${JSON.stringify(spec.args ?? {})} (re-verify it)` : spec.tool ? `tool ${spec.tool} with ${JSON.stringify(spec.args ?? {})}` : `model call to ${spec.model}`;
    return {
      kind: "append",
      events: [
        {
          type: "approval.requested",
          data: {
            approvalId: approvalIdForCall(s.runId, cur.node, spec.callId, cur.visit),
            callId: spec.callId,
            node: cur.node,
            visit: cur.visit,
            quorum: approvers.quorum,
            rejection: "any",
            levels: [{ level: 0, users: approvers.users, roles: approvers.roles, afterMs: 0 }],
            excluded: [s.actor.sub],
            context: `${pd.reason}\n\nThe run wants to call ${what}.`,
            deadline: null,
          },
        },
      ],
    };
  }
  if (ca.status === "pending") {
    const outcome = tally(ca);
    if (outcome || ca.cancelled) {
      const o = outcome ?? "cancelled";
      return { kind: "append", events: [{ type: "approval.resolved", data: { approvalId: ca.approvalId, outcome: o, effect: o === "approved" ? "approve" : "reject", by: [...new Set(ca.decisions.map((d) => d.by))] } }] };
    }
    return { kind: "hold" };
  }
  if (ca.status === "approved") return { kind: "proceed" };
  return { kind: "refuse", reason: `the approval the policy requires was ${ca.status}: ${pd.reason}` };
}
