/**
 * decide(state) -> what happens next. Pure: no clock, no randomness, no I/O. It returns either
 * decision events to append (replay must reproduce them exactly), a call to execute (whose
 * result the shell records as an observation), a wait, or nothing to do.
 */
import { redactedForPeople } from "../audit/run-audit.ts";
import type { ChatMessage, LlmRequest, NewEvent } from "./events.ts";
import { evaluateCondition } from "./expression.ts";
import { parseDuration } from "./duration.ts";
import { parseModelOutput } from "./fold.ts";
import { retryDelayMs, retryPolicyFor } from "./retry-policy.ts";
import type { CallState, RunState } from "./run-state.ts";
import { render, renderString } from "./template.ts";
import type { WorkflowNode } from "./workflow-schema.ts";
import { pendingTimers, tally } from "../approvals/approval-state.ts";
import { gate, hostOf, type CallSpec } from "./policy-gate.ts";
import { runScope } from "./run-scope.ts";
import { decideMemory } from "./memory-node.ts";
import { admissionSlice, modelCallBudget } from "../budget/budget-gate.ts";
import { iterationLimit, stepLimit, toolCallLimit } from "../budget/run-limits.ts";
import { pendingSettlements, type SliceRequest } from "../budget/run-budget.ts";

export type Decision =
  | { kind: "append"; events: NewEvent[] }
  | { kind: "execute"; call: CallState }
  /** ask the shared budgets for the slices a model call needs (the shell records their answer) */
  | { kind: "reserve"; request: SliceRequest }
  | { kind: "wait"; until: number }
  | { kind: "idle"; reason: string };


export { runScope };

/** A call interrupted by crashes this many times stops for a human instead of crashing the run forever. */
export const MAX_INTERRUPTED_ATTEMPTS = 5;

type Append = Extract<Decision, { kind: "append" }>;
const append = (...events: NewEvent[]): Append => ({ kind: "append", events });

function callIdFor(s: RunState): string {
  const c = s.cursor!;
  return `${c.node}#${c.visit}.${c.callSeq + 1}`;
}

function idempotencyKey(s: RunState, callId: string): string {
  return `${s.runId}/${callId}`;
}

function failNode(s: RunState, node: WorkflowNode & { onError?: string }, message: string): Append {
  const c = s.cursor!;
  if (node.onError) return append({ type: "node.completed", data: { node: c.node, visit: c.visit, output: { error: message }, next: node.onError, via: "onError" } });
  return append({ type: "run.failed", data: { error: { message, node: c.node } } });
}

function finishNode(s: RunState, output: unknown, next: string | null, via?: string): Append {
  const c = s.cursor!;
  return append({ type: "node.completed", data: { node: c.node, visit: c.visit, output, next, ...(via ? { via } : {}) } });
}

/** Shared handling of a call that has not completed: run it, retry it, or stop for a human. */
function continueCall(s: RunState, call: CallState, node: WorkflowNode & { onError?: string }): Decision | null {
  const retry = (): Decision =>
    call.kind === "llm"
      ? budgeted(s, node, call.callId, call.attempt + 1, call.request!, () => append({ type: "llm.started", data: { node: call.node, callId: call.callId, attempt: call.attempt + 1, idempotencyKey: call.idempotencyKey, request: call.request! } }))
      : call.kind === "memory"
        ? append({ type: "memory.started", data: { node: call.node, callId: call.callId, attempt: call.attempt + 1, idempotencyKey: call.idempotencyKey, ...call.memory! } })
        : append({
          type: "tool.started",
          data: { node: call.node, callId: call.callId, attempt: call.attempt + 1, idempotencyKey: call.idempotencyKey, tool: call.tool!, args: call.args, atMostOnce: call.atMostOnce, ...(call.modelCallId ? { modelCallId: call.modelCallId } : {}) },
        });
  switch (call.phase) {
    case "started":
      return { kind: "execute", call };
    case "interrupted":
      if (call.atMostOnce) {
        return append({
          type: "run.needs_attention",
          data: { node: call.node, callId: call.callId, reason: `tool "${call.tool}" is atMostOnce and was interrupted before its result was recorded; a person must decide whether it took effect` },
        });
      }
      if (call.attempt >= MAX_INTERRUPTED_ATTEMPTS) {
        return append({ type: "run.needs_attention", data: { node: call.node, callId: call.callId, reason: `${call.kind} call ${call.callId} was interrupted ${call.attempt} times; it may be crashing the run` } });
      }
      return retry();
    case "retry_due":
      return retry();
    case "failed":
      return append({
        type: "timer.scheduled",
        data: { timerId: `retry:${call.callId}:${call.attempt}`, node: call.node, purpose: "retry", fireAt: (call.failedAt ?? s.lastAt) + retryDelayMs(retryPolicyFor(s.doc, call.kind, call.tool), call.callId, call.attempt, call.error?.retryAfterMs) },
      });
    case "retry_scheduled":
      return { kind: "wait", until: call.retryAt ?? s.lastAt };
    case "gave_up":
      return failNode(s, node, `${call.kind === "llm" ? "model call" : call.kind === "memory" ? `memory ${call.memory?.op}` : `tool "${call.tool}"`} failed after ${call.attempt} attempt(s): ${call.error?.message ?? "unknown error"}`);
    case "completed":
      return null;
  }
}

/** Runs a model call attempt through the budget gate (src/budget/budget-gate.ts). */
function budgeted(s: RunState, node: WorkflowNode, callId: string, attempt: number, request: LlmRequest, start: () => Decision): Decision {
  const b = modelCallBudget(s, node, { callId, attempt, request });
  switch (b.kind) {
    case "append":
      return { kind: "append", events: b.events };
    case "reserve":
      return { kind: "reserve", request: b.request };
    case "proceed":
      return start();
    case "stopped":
      return { kind: "idle", reason: "stopped by a budget" };
  }
}

function llmRequestFor(s: RunState, model: string, messages: ChatMessage[], tools: string[], maxTokens?: number) {
  const provider = s.doc.provider.kind;
  return { provider, model, messages, tools, turn: s.counters.llmCalls, ...(maxTokens ? { maxTokens } : {}) };
}

function initialMessages(s: RunState, node: { system?: string; prompt: string }): ChatMessage[] {
  const scope = runScope(s);
  const out: ChatMessage[] = [];
  if (node.system) out.push({ role: "system", content: String(renderString(node.system, scope) ?? "") });
  const prompt = renderString(node.prompt, scope);
  out.push({ role: "user", content: typeof prompt === "string" ? prompt : JSON.stringify(prompt) });
  return out;
}

type ApprovalNode = Extract<WorkflowNode, { kind: "approval" }>;

export function approvalIdFor(runId: string, node: string, visit: number): string {
  return `${runId}.${node}.${visit}`;
}

/** The approval node: request, schedule escalations and the timeout, escalate, resolve. */
function decideApproval(s: RunState, node: ApprovalNode): Decision {
  const cur = s.cursor!;
  const a = cur.approval;
  if (!a) {
    const approvalId = approvalIdFor(s.runId, cur.node, cur.visit);
    const levels = [
      { level: 0, users: node.approvers.users, roles: node.approvers.roles, afterMs: 0 },
      ...node.escalate.map((e, i) => ({ level: i + 1, users: e.to.users, roles: e.to.roles, afterMs: parseDuration(e.after) })),
    ];
    const excluded = [...new Set([...(node.separationOfDuties ? [s.actor.sub] : []), ...node.exclude])];
    // redacted fields stay redacted in what approvers are shown
    const context = renderString(node.context, redactedForPeople(runScope(s), s.policy));
    return append({
      type: "approval.requested",
      data: {
        approvalId,
        node: cur.node,
        visit: cur.visit,
        quorum: node.approvers.quorum,
        rejection: node.rejection,
        levels,
        excluded,
        context: typeof context === "string" ? context : JSON.stringify(context),
        deadline: node.timeout ? cur.startedAt + parseDuration(node.timeout.after) : null,
        ...(node.timeout ? { timeoutOutcome: node.timeout.outcome } : {}),
      },
    });
  }
  const resolve = (outcome: "approved" | "rejected" | "expired" | "cancelled", effect: "approve" | "reject" | "fail"): Decision => {
    const by = [...new Set(a.decisions.map((d) => d.by))];
    const resolved: NewEvent = { type: "approval.resolved", data: { approvalId: a.approvalId, outcome, effect, by } };
    const output = { approvalId: a.approvalId, outcome, decisions: a.decisions.map((d) => ({ by: d.by, decision: d.decision, via: d.via, ...(d.comment ? { comment: d.comment } : {}) })) };
    if (effect === "fail") return append(resolved, { type: "run.failed", data: { error: { message: `approval ${a.approvalId} timed out (declared outcome: fail)`, node: cur.node } } });
    return append(resolved, { type: "node.completed", data: { node: cur.node, visit: cur.visit, output, next: effect === "approve" ? node.onApprove : node.onReject, via: outcome } });
  };
  const outcome = tally(a);
  if (outcome) return resolve(outcome, outcome === "approved" ? "approve" : "reject");
  if (a.cancelled) return resolve("cancelled", "reject");
  const timeoutId = `timeout:${a.approvalId}`;
  if (a.timers[timeoutId]?.fired) return resolve("expired", a.timeoutOutcome ?? "reject");
  for (const l of a.levels) {
    const t = a.timers[`escalate:${a.approvalId}:${l.level}`];
    if (t?.fired && l.level > a.activeLevel) return append({ type: "approval.escalated", data: { approvalId: a.approvalId, level: l.level } });
  }
  const nextLevel = a.levels.find((l) => l.level === a.activeLevel + 1);
  const escalateId = nextLevel ? `escalate:${a.approvalId}:${nextLevel.level}` : null;
  if (nextLevel && escalateId && !a.timers[escalateId]) {
    return append({ type: "timer.scheduled", data: { timerId: escalateId, node: cur.node, purpose: "escalate", fireAt: a.requestedAt + nextLevel.afterMs } });
  }
  if (a.deadline !== null && !a.timers[timeoutId]) return append({ type: "timer.scheduled", data: { timerId: timeoutId, node: cur.node, purpose: "timeout", fireAt: a.deadline } });
  const waits = pendingTimers(a).map((t) => t.fireAt);
  return waits.length ? { kind: "wait", until: Math.min(...waits) } : { kind: "idle", reason: "waiting for approval" };
}

/** Runs a prospective call through the policy gate (see policy-gate.ts). */
function gated<D>(s: RunState, node: WorkflowNode, spec: CallSpec, scope: Record<string, unknown>, start: () => D, refuse: (reason: string) => D): D | Append | Extract<Decision, { kind: "idle" }> {
  const limit = spec.action === "tool" ? toolCallLimit(s, node, spec.callId) : null;
  if (limit) return append(limit);
  const g = gate(s, node, spec, scope);
  switch (g.kind) {
    case "append":
      return { kind: "append", events: g.events };
    case "proceed":
      return start();
    case "refuse":
      return refuse(g.reason);
    case "hold":
      return { kind: "idle", reason: "waiting for the approval a policy requires" };
  }
}

export function decide(s: RunState): Decision {
  // a model call's reservation is settled against the run's slices as soon as its outcome is known, even once the run has ended
  const settlements = pendingSettlements(s);
  if (settlements.length) return append(...settlements);
  if (s.terminal) return { kind: "idle", reason: s.terminal };
  if (s.paused) return { kind: "idle", reason: "paused" };
  if (s.attention) return { kind: "idle", reason: "needs_attention" };

  if (s.pending !== null) {
    const target = s.doc.nodes[s.pending];
    // a run whose first node is a model call asks for its first slice as it starts (see admissionSlice)
    if (target && s.admissionSlice && s.pending === s.doc.start && s.budget.issued === 0 && !s.visits[s.pending] && (target.kind === "llm" || target.kind === "agent")) {
      const ask = admissionSlice(s, target, llmRequestFor(s, target.model, initialMessages(s, target), target.kind === "agent" ? target.tools : [], target.maxTokens));
      if (ask) return append(ask);
    }
    if (!target) return append({ type: "run.failed", data: { error: { message: `next node "${s.pending}" does not exist` } } });
    const steps = stepLimit(s, s.pending);
    if (steps) return append(steps);
    return append({ type: "node.started", data: { node: s.pending, kind: target.kind, visit: (s.visits[s.pending] ?? 0) + 1 } });
  }
  const cur = s.cursor;
  if (!cur) return { kind: "idle", reason: "no current node" };
  const node = s.doc.nodes[cur.node];
  const scope = runScope(s);

  switch (node.kind) {
    case "end": {
      const output = node.output === undefined ? null : render(node.output, scope);
      return append({ type: "node.completed", data: { node: cur.node, visit: cur.visit, output, next: null } }, { type: "run.completed", data: { output } });
    }
    case "branch": {
      for (let i = 0; i < node.cases.length; i++) {
        let hit: boolean;
        try {
          hit = evaluateCondition(node.cases[i].when, scope);
        } catch (err) {
          return append({ type: "run.failed", data: { error: { message: `branch case ${i}: ${(err as Error).message}`, node: cur.node } } });
        }
        if (hit) return finishNode(s, { case: i }, node.cases[i].next, `cases[${i}]`);
      }
      return finishNode(s, { case: "default" }, node.default, "default");
    }
    case "wait": {
      if (!cur.timer) {
        return append({ type: "timer.scheduled", data: { timerId: `wait:${cur.node}#${cur.visit}`, node: cur.node, purpose: "wait", fireAt: cur.startedAt + parseDuration(node.for) } });
      }
      if (!cur.timer.fired) return { kind: "wait", until: cur.timer.fireAt };
      return finishNode(s, { waitedUntil: cur.timer.fireAt }, node.next);
    }
    case "tool": {
      if (s.call) {
        const d = continueCall(s, s.call, node);
        if (d) return d;
        return finishNode(s, s.call.result?.body ?? null, node.next);
      }
      const def = s.doc.tools[node.tool];
      const callId = callIdFor(s);
      const args = render(node.args, scope);
      return gated(s, node, { callId, action: "tool", tool: node.tool, args, ...(def.kind === "http" ? { host: hostOf(def.url, { ...scope, args }) } : {}) }, scope, () =>
        append({ type: "tool.started", data: { node: cur.node, callId, attempt: 1, idempotencyKey: idempotencyKey(s, callId), tool: node.tool, args, atMostOnce: def.atMostOnce } }),
        (reason) => failNode(s, node, reason),
      );
    }
    case "llm": {
      if (s.call) {
        const d = continueCall(s, s.call, node);
        if (d) return d;
        return finishNode(s, parseModelOutput(s.call.response?.text ?? null), node.next);
      }
      const callId = callIdFor(s);
      return gated(s, node, { callId, action: "llm", model: node.model, ...(node.maxTokens ? { maxTokens: node.maxTokens } : {}) }, scope, () => {
        const request = llmRequestFor(s, node.model, initialMessages(s, node), [], node.maxTokens);
        return budgeted(s, node, callId, 1, request, () => append({ type: "llm.started", data: { node: cur.node, callId, attempt: 1, idempotencyKey: idempotencyKey(s, callId), request } }));
      },
        (reason) => failNode(s, node, reason),
      );
    }
    case "agent": {
      const agent = cur.agent!;
      if (s.call) {
        const d = continueCall(s, s.call, node);
        if (d) return d;
        return { kind: "idle", reason: "completed call not absorbed" }; // unreachable: fold absorbs completed calls
      }
      if (agent.final) return finishNode(s, agent.final.output, node.next);
      if (agent.queue.length) {
        const want = agent.queue[0];
        const callId = callIdFor(s);
        if (!node.tools.includes(want.name)) {
          return append({ type: "tool.denied", data: { node: cur.node, callId, tool: want.name, modelCallId: want.id, reason: `tool "${want.name}" is not available to this agent (allowed: ${node.tools.join(", ") || "none"})` } });
        }
        const def = s.doc.tools[want.name];
        // a refusal goes back to the model as a tool error, so it can adapt; the loop's limits still apply
        return gated(s, node, { callId, action: "tool", tool: want.name, args: want.args, ...(def.kind === "http" ? { host: hostOf(def.url, { ...scope, args: want.args }) } : {}) }, scope, () =>
          append({ type: "tool.started", data: { node: cur.node, callId, attempt: 1, idempotencyKey: idempotencyKey(s, callId), tool: want.name, args: want.args, atMostOnce: def.atMostOnce, modelCallId: want.id } }),
          (reason) => append({ type: "tool.denied", data: { node: cur.node, callId, tool: want.name, modelCallId: want.id, reason } }),
        );
      }
      const messages = agent.iteration === 0 ? initialMessages(s, node) : agent.messages;
      const callId = callIdFor(s);
      const iterations = iterationLimit(s, node, callId);
      if (iterations) return append(iterations);
      return gated(s, node, { callId, action: "llm", model: node.model, ...(node.maxTokens ? { maxTokens: node.maxTokens } : {}) }, scope, () => {
        const request = llmRequestFor(s, node.model, messages, node.tools, node.maxTokens);
        return budgeted(s, node, callId, 1, request, () => append({ type: "llm.started", data: { node: cur.node, callId, attempt: 1, idempotencyKey: idempotencyKey(s, callId), request } }));
      },
        (reason) => failNode(s, node, reason),
      );
    }
    case "approval":
      return decideApproval(s, node);
    case "memory": {
      if (s.call && s.call.phase !== "completed") {
        const d = continueCall(s, s.call, node);
        if (d) return d;
      }
      return decideMemory(s, node, scope, {
        finish: (output) => finishNode(s, output, node.next),
        fail: (message) => failNode(s, node, message),
        gated: (spec, start) => gated(s, node, spec, scope, start, (reason) => failNode(s, node, reason)),
        callId: () => callIdFor(s),
        idempotencyKey: (callId) => idempotencyKey(s, callId),
      });
    }
    default:
      return append({ type: "run.failed", data: { error: { message: `node kind "${node.kind}" is not supported yet`, node: cur.node } } });
  }
}
