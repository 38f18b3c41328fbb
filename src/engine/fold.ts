/**
 * fold(events) -> state. Pure and deterministic: the only inputs are the events themselves
 * (their `at` is the run's clock). `apply` copies what it changes, so callers may keep
 * earlier states.
 */
import type { ApprovalState } from "../approvals/approval-state.ts";
import type { NewEvent, RunEvent } from "./events.ts";
import { retryPolicyFor } from "./retry-policy.ts";
import type { CallState, Cursor, RunState, RunStatus } from "./run-state.ts";
import { workflowSchema, type WorkflowDocument } from "./workflow-schema.ts";
import { applyBudgetEvent, followBudget, initialRunBudget, retireIdleSlices, waitingForBudget } from "../budget/run-budget.ts";

export class FoldError extends Error {}

function statusOf(s: RunState): RunStatus {
  if (s.terminal) return s.terminal;
  if (s.paused) return "paused";
  if (s.attention) return "needs_attention";
  const waitingTimer = s.cursor?.timer && !s.cursor.timer.fired;
  const waitingRetry = s.call?.phase === "retry_scheduled";
  const waitingApproval = s.cursor?.approval?.status === "pending" || s.cursor?.callApproval?.status === "pending";
  return waitingTimer || waitingRetry || waitingApproval || waitingForBudget(s.budget) ? "waiting" : "running";
}

function withCall(s: RunState, callId: string, change: (c: CallState) => CallState): RunState {
  if (!s.call || s.call.callId !== callId) return s; // a late result for a call no longer current (e.g. after halt)
  return { ...s, call: change(s.call) };
}

function cursorOf(s: RunState, node: string): Cursor {
  if (!s.cursor || s.cursor.node !== node) throw new FoldError(`event for node "${node}" but the current node is "${s.cursor?.node ?? "none"}"`);
  return s.cursor;
}

function approvalOf(cur: Cursor): ApprovalState {
  if (!cur.approval) throw new FoldError(`node "${cur.node}" has no approval`);
  return cur.approval;
}

/** Applies a change to the current approval; an event for another (older) approval is kept in the log but changes nothing. */
function withApproval(s: RunState, change: (a: ApprovalState) => ApprovalState, approvalId?: string): RunState {
  const c = s.cursor?.callApproval;
  if (c && approvalId && c.approvalId === approvalId) return { ...s, cursor: { ...s.cursor!, callApproval: { ...change(c), callId: c.callId } } };
  const a = s.cursor?.approval;
  if (!a || (approvalId && a.approvalId !== approvalId)) return s;
  return { ...s, cursor: { ...s.cursor!, approval: change(a) } };
}

/** Approvals leaving the cursor are kept by id, so they can still be read and indexed. */
function stash(s: RunState): Record<string, ApprovalState> {
  let approvals = s.approvals;
  if (s.cursor?.approval) approvals = { ...approvals, [s.cursor.approval.approvalId]: s.cursor.approval };
  if (s.cursor?.callApproval) approvals = { ...approvals, [s.cursor.callApproval.approvalId]: s.cursor.callApproval };
  return approvals;
}

/** After a call finishes inside an agent, its outcome joins the conversation. */
function absorbIntoAgent(s: RunState): RunState {
  const c = s.call;
  const cur = s.cursor;
  if (!c || !cur?.agent || c.node !== cur.node) return s;
  const agent = cur.agent;
  if (c.kind === "llm" && c.phase === "completed" && c.response) {
    const r = c.response;
    if (r.toolCalls.length) {
      const msg = { role: "assistant" as const, content: r.text, toolCalls: r.toolCalls };
      return { ...s, call: null, cursor: { ...cur, agent: { ...agent, messages: [...agent.messages, msg], queue: r.toolCalls } } };
    }
    return { ...s, call: null, cursor: { ...cur, agent: { ...agent, messages: [...agent.messages, { role: "assistant", content: r.text }], final: { output: parseModelOutput(r.text) } } } };
  }
  if (c.kind === "tool" && (c.phase === "completed" || c.phase === "gave_up")) {
    const content = c.phase === "completed" ? JSON.stringify(c.result?.body ?? null) : JSON.stringify({ error: c.error?.message });
    const msg = { role: "tool" as const, content, toolCallId: c.modelCallId, name: c.tool };
    return { ...s, call: null, cursor: { ...cur, agent: { ...agent, messages: [...agent.messages, msg], queue: agent.queue.slice(1) } } };
  }
  return s;
}

/** A model's text answer becomes the node output: parsed JSON when it is JSON, the text otherwise. */
export function parseModelOutput(text: string | null): unknown {
  if (text === null) return null;
  const t = text.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

function applyRaw(s: RunState, e: RunEvent): RunState {
  switch (e.type) {
    case "run.started":
      throw new FoldError("run.started may only be the first event");
    case "node.started": {
      const visit = (s.visits[e.data.node] ?? 0) + 1;
      if (visit !== e.data.visit) throw new FoldError(`node.started for "${e.data.node}" says visit ${e.data.visit}, expected ${visit}`);
      const cursor: Cursor = { node: e.data.node, kind: e.data.kind, visit, startedAt: e.at, callSeq: 0 };
      if (e.data.kind === "agent") cursor.agent = { iteration: 0, messages: [], queue: [] };
      return { ...s, pending: null, cursor, call: null, visits: { ...s.visits, [e.data.node]: visit }, counters: { ...s.counters, steps: s.counters.steps + 1 } };
    }
    case "node.completed": {
      cursorOf(s, e.data.node);
      const prev = s.nodes[e.data.node];
      const approvals = stash(s);
      return { ...s, approvals, cursor: null, call: null, pending: e.data.next, nodes: { ...s.nodes, [e.data.node]: { output: e.data.output, visits: (prev?.visits ?? 0) + 1 } } };
    }
    case "llm.started":
    case "tool.started": {
      const cur = cursorOf(s, e.data.node);
      const fresh = e.data.attempt === 1;
      const call: CallState = {
        callId: e.data.callId,
        kind: e.type === "llm.started" ? "llm" : "tool",
        node: e.data.node,
        attempt: e.data.attempt,
        idempotencyKey: e.data.idempotencyKey,
        atMostOnce: e.type === "tool.started" ? e.data.atMostOnce : false,
        phase: "started",
      };
      let cursor = fresh ? { ...cur, callSeq: cur.callSeq + 1 } : cur;
      const counters = { ...s.counters };
      if (e.type === "llm.started") {
        call.request = e.data.request;
        if (fresh) counters.llmCalls += 1;
        if (cursor.agent) cursor = { ...cursor, agent: { ...cursor.agent, messages: e.data.request.messages, iteration: cursor.agent.iteration + (fresh ? 1 : 0) } };
      } else {
        call.tool = e.data.tool;
        call.args = e.data.args;
        call.modelCallId = e.data.modelCallId;
        if (fresh) counters.toolCalls += 1;
      }
      return { ...s, cursor, call, counters };
    }
    case "memory.started": {
      const cur = cursorOf(s, e.data.node);
      const fresh = e.data.attempt === 1;
      const call: CallState = { callId: e.data.callId, kind: "memory", node: e.data.node, attempt: e.data.attempt, idempotencyKey: e.data.idempotencyKey, atMostOnce: false, phase: "started", memory: { op: e.data.op, scope: e.data.scope, request: e.data.request } };
      return { ...s, cursor: fresh ? { ...cur, callSeq: cur.callSeq + 1 } : cur, call };
    }
    case "memory.read":
    case "memory.written": {
      const next = withCall(s, e.data.callId, (c) => ({ ...c, phase: "completed" }));
      if (next === s || !s.cursor) return s;
      const m = s.cursor.memory ?? { conflictsSurfaced: 0 };
      const memory = e.type === "memory.written" ? { ...m, written: e.data.result } : e.data.op === "check" ? { ...m, checked: e.data.result } : { ...m, read: e.data.result };
      return { ...next, cursor: { ...s.cursor, memory } };
    }
    case "memory.conflict": {
      const cur = cursorOf(s, e.data.node);
      const m = cur.memory ?? { conflictsSurfaced: 0 };
      return { ...s, cursor: { ...cur, memory: { ...m, conflictsSurfaced: m.conflictsSurfaced + 1 } } };
    }
    case "llm.completed": {
      const next = withCall(s, e.data.callId, (c) => ({ ...c, phase: "completed", response: e.data.response }));
      const u = e.data.response.usage;
      return absorbIntoAgent({ ...next, counters: { ...next.counters, inputTokens: next.counters.inputTokens + u.inputTokens, outputTokens: next.counters.outputTokens + u.outputTokens } });
    }
    case "tool.completed":
      return absorbIntoAgent(withCall(s, e.data.callId, (c) => ({ ...c, phase: "completed", result: e.data.result })));
    case "llm.failed":
    case "tool.failed":
    case "memory.failed":
      return absorbIntoAgent(
        withCall(s, e.data.callId, (c) => ({
          ...c,
          error: e.data.error,
          failedAt: e.at,
          phase: e.data.error.retryable && c.attempt < retryPolicyFor(s.doc, c.kind, c.tool).maxAttempts ? "failed" : "gave_up",
        })),
      );
    case "tool.denied": {
      const cur = cursorOf(s, e.data.node);
      if (!cur.agent) throw new FoldError("tool.denied outside an agent node");
      const msg = { role: "tool" as const, content: JSON.stringify({ error: e.data.reason }), toolCallId: e.data.modelCallId, name: e.data.tool };
      return { ...s, cursor: { ...cur, callSeq: cur.callSeq + 1, agent: { ...cur.agent, messages: [...cur.agent.messages, msg], queue: cur.agent.queue.slice(1) } } };
    }
    case "timer.scheduled": {
      const cur = cursorOf(s, e.data.node);
      if (e.data.purpose === "escalate" || e.data.purpose === "timeout") {
        const a = approvalOf(cur);
        return { ...s, cursor: { ...cur, approval: { ...a, timers: { ...a.timers, [e.data.timerId]: { timerId: e.data.timerId, fireAt: e.data.fireAt, fired: false } } } } };
      }
      if (e.data.purpose === "wait") return { ...s, cursor: { ...cur, timer: { timerId: e.data.timerId, fireAt: e.data.fireAt, fired: false } } };
      if (!s.call) throw new FoldError("retry timer scheduled with no call to retry");
      return { ...s, call: { ...s.call, phase: "retry_scheduled", retryTimerId: e.data.timerId, retryAt: e.data.fireAt } };
    }
    case "timer.fired": {
      if (s.cursor?.timer?.timerId === e.data.timerId) return { ...s, cursor: { ...s.cursor, timer: { ...s.cursor.timer, fired: true } } };
      if (s.call?.retryTimerId === e.data.timerId && s.call.phase === "retry_scheduled") return { ...s, call: { ...s.call, phase: "retry_due" } };
      const at = s.cursor?.approval?.timers[e.data.timerId];
      if (s.cursor?.approval && at) return withApproval(s, (a) => ({ ...a, timers: { ...a.timers, [e.data.timerId]: { ...at, fired: true } } }));
      return s; // a timer that no longer matters (the run moved on or was halted)
    }
    case "approval.requested": {
      const cur = cursorOf(s, e.data.node);
      const d = e.data;
      const approval: ApprovalState = {
        approvalId: d.approvalId,
        node: d.node,
        visit: d.visit,
        requestedAt: e.at,
        quorum: d.quorum,
        rejection: d.rejection,
        levels: d.levels,
        activeLevel: 0,
        reassigned: null,
        excluded: d.excluded,
        context: d.context,
        deadline: d.deadline,
        ...(d.timeoutOutcome ? { timeoutOutcome: d.timeoutOutcome } : {}),
        notified: [],
        views: 0,
        decisions: [],
        cancelled: false,
        status: "pending",
        timers: {},
      };
      if (d.callId) {
        const approvals = cur.callApproval ? { ...s.approvals, [cur.callApproval.approvalId]: cur.callApproval } : s.approvals;
        return { ...s, approvals, cursor: { ...cur, callApproval: { ...approval, callId: d.callId } } };
      }
      return { ...s, cursor: { ...cur, approval } };
    }
    case "policy.loaded":
      return { ...s, policy: { hash: e.data.hash, nodeHashes: e.data.nodeHashes, entries: e.data.entries } };
    case "policy.decision": {
      const cur = cursorOf(s, e.data.node);
      return { ...s, cursor: { ...cur, policyDecision: { callId: e.data.callId, effect: e.data.effect, reason: e.data.reason, ...(e.data.approvers ? { approvers: e.data.approvers } : {}) } } };
    }
    case "approval.notified":
      return withApproval(s, (a) => ({ ...a, notified: [...a.notified, { level: e.data.level, recipients: e.data.recipients }] }), e.data.approvalId);
    case "approval.viewed":
      return withApproval(s, (a) => ({ ...a, views: a.views + 1 }), e.data.approvalId);
    case "approval.decided":
      return withApproval(s, (a) => ({ ...a, decisions: [...a.decisions, { by: e.data.by, decision: e.data.decision, via: e.data.via, at: e.at, ...(e.data.comment ? { comment: e.data.comment } : {}) }] }), e.data.approvalId);
    case "approval.escalated":
      return withApproval(s, (a) => ({ ...a, activeLevel: Math.max(a.activeLevel, e.data.level) }), e.data.approvalId);
    case "approval.reassigned":
      return withApproval(s, (a) => ({ ...a, reassigned: { set: e.data.to, atLevel: a.activeLevel } }), e.data.approvalId);
    case "approval.cancelled":
      return withApproval(s, (a) => ({ ...a, cancelled: true }), e.data.approvalId);
    case "approval.resolved":
      return withApproval(s, (a) => ({ ...a, status: e.data.outcome }), e.data.approvalId);
    case "run.paused":
      return { ...s, paused: true };
    case "run.resumed":
      return { ...s, paused: false };
    case "run.halted":
      return { ...s, terminal: "halted", haltedBy: e.data.actor };
    case "run.recovered":
      return s.call && s.call.phase === "started" && e.data.interrupted.includes(s.call.callId) ? { ...s, call: { ...s.call, phase: "interrupted" } } : s;
    case "run.needs_attention":
      return { ...s, attention: { node: e.data.node, callId: e.data.callId, reason: e.data.reason } };
    case "run.attention_resolved": {
      if (!s.attention || !s.call) return { ...s, attention: null };
      const c = s.call;
      const resolved: CallState =
        e.data.action === "retry"
          ? { ...c, phase: "retry_due" }
          : e.data.action === "fail"
            ? { ...c, phase: "gave_up", error: { message: `marked failed by ${e.data.actor.sub}${e.data.comment ? `: ${e.data.comment}` : ""}`, retryable: false } }
            : { ...c, phase: "completed", result: { body: e.data.result ?? null } };
      return absorbIntoAgent({ ...s, attention: null, call: resolved });
    }
    case "run.completed":
      return { ...s, terminal: "completed", output: e.data.output, cursor: null, call: null };
    case "run.failed": {
      const approvals = stash(s);
      return { ...s, approvals, terminal: "failed", error: e.data.error, cursor: null, call: null };
    }
    case "budget.slice_requested":
    case "budget.slice_granted":
    case "budget.slice_declined":
    case "budget.slice_returned":
    case "budget.requested":
    case "budget.reserved":
    case "budget.refused":
    case "budget.deferred":
    case "budget.unavailable":
    case "budget.settled":
    case "budget.limits_set":
    case "run.limit_reached":
      return applyBudgetEvent(s, e);
  }
}

/** Records `events` after `s` at time `at`: each takes the next seq and is folded in, in order, and is pushed onto `into`. */
export function applyNew(s: RunState, events: readonly NewEvent[], at: number, into: RunEvent[]): RunState {
  for (const ev of events) {
    const e = { seq: s.seq + 1, type: ev.type, at, data: ev.data } as RunEvent;
    s = apply(s, e);
    into.push(e);
  }
  return s;
}

export function apply(s: RunState, e: RunEvent): RunState {
  if (e.seq !== s.seq + 1) throw new FoldError(`event seq ${e.seq} follows seq ${s.seq}: the log has a gap or is out of order`);
  const next = followBudget(s, applyRaw(s, e), e);
  const out = { ...next, seq: e.seq, lastAt: e.at };
  out.status = statusOf(out);
  return retireIdleSlices(out, out.status === "running");
}

/**
 * Parsed documents by content hash. The recorded hash is not trusted on its own: a hit is used
 * only if the document is byte-for-byte the one that was parsed (a log with a wrong hash still
 * folds with its own document).
 */
const parsedDocs = new Map<string, { raw: string; doc: WorkflowDocument }>();

export function parsedWorkflow(hash: string, document: unknown): WorkflowDocument {
  const raw = JSON.stringify(document);
  const hit = parsedDocs.get(hash);
  if (hit && hit.raw === raw) return hit.doc;
  const doc = workflowSchema.parse(document);
  if (!hit) {
    if (parsedDocs.size > 500) parsedDocs.clear();
    parsedDocs.set(hash, { raw, doc });
  }
  return doc;
}

export function initialState(e: RunEvent): RunState {
  if (e.type !== "run.started" || e.seq !== 1) throw new FoldError("the first event must be run.started with seq 1");
  const doc = parsedWorkflow(e.data.workflow.hash, e.data.document);
  const s: RunState = {
    runId: e.data.runId,
    tenant: e.data.tenant,
    workflow: e.data.workflow,
    doc,
    input: e.data.input,
    actor: e.data.actor,
    requestHash: e.data.requestHash,
    admissionSlice: e.data.engine?.admissionSlice === true,
    seq: 1,
    startedAt: e.at,
    lastAt: e.at,
    status: "running",
    paused: false,
    terminal: null,
    attention: null,
    pending: doc.start,
    cursor: null,
    call: null,
    nodes: {},
    visits: {},
    counters: { steps: 0, llmCalls: 0, toolCalls: 0, inputTokens: 0, outputTokens: 0 },
    approvals: {},
    policy: null,
    budget: initialRunBudget(),
  };
  return s;
}

export function fold(events: readonly RunEvent[]): RunState {
  if (!events.length) throw new FoldError("an empty log has no run");
  let s = initialState(events[0]);
  for (let i = 1; i < events.length; i++) s = apply(s, events[i]);
  return s;
}
