/** What `GET /v1/runs/:id` answers: derived from state, never stored separately. */
import type { RunState, RunStatus } from "./run-state.ts";

export interface RunSummary {
  id: string;
  tenant: string;
  workflow: { id: string; version: number; hash: string };
  status: RunStatus;
  waiting: null | { reason: "timer" | "retry" | "approval"; until: string | null; approvalId?: string };
  currentNode: string | null;
  outputs: Record<string, unknown>;
  output: unknown;
  error: { message: string; node?: string } | null;
  attention: { node: string; callId: string; reason: string } | null;
  /** why a halted run stopped: an operator, a budget or a per-run limit */
  halt: { cause: "operator" | "budget" | "limit"; reason: string } | null;
  counters: RunState["counters"];
  startedBy: string;
  createdAt: string;
  updatedAt: string;
  seq: number;
}

/** What a waiting run waits for; null while it is not waiting. */
export function waitingOf(s: RunState): RunSummary["waiting"] {
  if (s.status !== "waiting") return null;
  if (s.cursor?.timer && !s.cursor.timer.fired) return { reason: "timer", until: new Date(s.cursor.timer.fireAt).toISOString() };
  if (s.cursor?.approval?.status === "pending") return { reason: "approval", approvalId: s.cursor.approval.approvalId, until: s.cursor.approval.deadline ? new Date(s.cursor.approval.deadline).toISOString() : null };
  if (s.cursor?.callApproval?.status === "pending") return { reason: "approval", approvalId: s.cursor.callApproval.approvalId, until: null };
  if (s.call?.phase === "retry_scheduled") return { reason: "retry", until: new Date(s.call.retryAt ?? s.lastAt).toISOString() };
  return null;
}

export function summarize(s: RunState): RunSummary {
  const waiting = waitingOf(s);
  const outputs: Record<string, unknown> = {};
  for (const [id, n] of Object.entries(s.nodes)) outputs[id] = n.output;
  return {
    id: s.runId,
    tenant: s.tenant,
    workflow: s.workflow,
    status: s.status,
    waiting,
    currentNode: s.cursor?.node ?? s.pending ?? null,
    outputs,
    output: s.output ?? null,
    error: s.error ?? null,
    attention: s.attention,
    halt: s.halt ?? null,
    counters: s.counters,
    startedBy: s.actor.sub,
    createdAt: new Date(s.startedAt).toISOString(),
    updatedAt: new Date(s.lastAt).toISOString(),
    seq: s.seq,
  };
}

/**
 * Whether a run has settled: nothing more happens without someone outside it. It has ended,
 * needs attention, is paused, or waits for a person's approval. A run that is working, or waits
 * for a timer or a retry of its own, is still under way. `GET /v1/runs/:id?wait=S` answers as
 * soon as the run settles (or after S seconds).
 */
export function settled(s: RunState): boolean {
  if (s.status === "running") return false;
  if (s.status === "waiting") return waitingOf(s)?.reason === "approval";
  return true;
}
