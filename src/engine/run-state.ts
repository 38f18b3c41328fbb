/** The state a run's event log folds into. Plain data: cloneable, comparable, JSON-safe. */
import type { Actor, CallError, ChatMessage, LlmRequest, LlmResponse, ModelToolCall } from "./events.ts";
import type { WorkflowDocument } from "./workflow-schema.ts";
import type { ApprovalState } from "../approvals/approval-state.ts";
import type { MemoryReadResult, MemoryWriteResult } from "../memory/fact-model.ts";
import type { HaltInfo, RunBudget } from "../budget/run-budget.ts";

export type RunStatus = "running" | "waiting" | "paused" | "needs_attention" | "completed" | "failed" | "halted";
export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set(["completed", "failed", "halted"]);

export type CallPhase =
  | "started" // recorded as started, no result yet (executing now, or about to)
  | "interrupted" // started, then the object crashed before a result was recorded
  | "failed" // failed with a retryable error; a retry is due to be scheduled
  | "retry_scheduled"
  | "retry_due"
  | "gave_up" // failed for good
  | "completed";

export interface CallState {
  callId: string;
  kind: "llm" | "tool" | "memory";
  node: string;
  attempt: number;
  idempotencyKey: string;
  atMostOnce: boolean;
  request?: LlmRequest;
  tool?: string;
  args?: unknown;
  modelCallId?: string;
  phase: CallPhase;
  response?: LlmResponse;
  result?: { status?: number; body: unknown };
  /** a memory call: what it asks the scope's AgentMemory object */
  memory?: { op: "read" | "check" | "write"; scope: string; request: unknown };
  error?: CallError;
  failedAt?: number;
  retryTimerId?: string;
  retryAt?: number;
}

export interface AgentLoop {
  iteration: number;
  messages: ChatMessage[];
  queue: ModelToolCall[];
  final?: { output: unknown };
}

export interface Cursor {
  node: string;
  kind: string;
  visit: number;
  startedAt: number;
  callSeq: number;
  agent?: AgentLoop;
  timer?: { timerId: string; fireAt: number; fired: boolean };
  approval?: ApprovalState;
  /** The approval a policy requires for one call (not the node's own approval). */
  callApproval?: ApprovalState & { callId: string };
  /** A memory node's results so far (the check before a write, the read or the write, the conflicts surfaced). */
  memory?: { read?: MemoryReadResult; checked?: MemoryReadResult; written?: MemoryWriteResult; conflictsSurfaced: number };
  /** The policy decision for the call about to start. */
  policyDecision?: { callId: string; effect: "allow" | "deny" | "require_approval"; reason: string; approvers?: { users: string[]; roles: string[]; quorum: number } };
}

export interface LoadedPolicy {
  hash: string;
  nodeHashes: Record<string, string>;
  entries: Array<{ level: "global" | "tenant" | "workflow" | "node"; version: number | null; policy: unknown }>;
}

export function approvalById(s: RunState, approvalId: string): ApprovalState | undefined {
  if (s.cursor?.approval?.approvalId === approvalId) return s.cursor.approval;
  if (s.cursor?.callApproval?.approvalId === approvalId) return s.cursor.callApproval;
  return s.approvals[approvalId];
}

/** A timer still matters if the current node or call is waiting on it. */
export function isLiveTimer(s: RunState, timerId: string): boolean {
  if (s.terminal) return false;
  if (s.cursor?.timer?.timerId === timerId && !s.cursor.timer.fired) return true;
  if (s.call?.retryTimerId === timerId && s.call.phase === "retry_scheduled") return true;
  const t = s.cursor?.approval?.timers[timerId] ?? s.cursor?.callApproval?.timers[timerId];
  return !!t && !t.fired;
}

export interface RunState {
  runId: string;
  tenant: string;
  workflow: { id: string; version: number; hash: string };
  doc: WorkflowDocument;
  input: unknown;
  actor: Actor;
  requestHash: string;
  /** the run asks for its first slice as it starts (run.started's `engine.admissionSlice`; runs started before that behaviour do not) */
  admissionSlice: boolean;
  seq: number;
  startedAt: number;
  lastAt: number;
  status: RunStatus;
  paused: boolean;
  terminal: null | "completed" | "failed" | "halted";
  attention: null | { node: string; callId: string; reason: string };
  pending: string | null;
  cursor: Cursor | null;
  call: CallState | null;
  nodes: Record<string, { output: unknown; visits: number }>;
  visits: Record<string, number>;
  counters: { steps: number; llmCalls: number; toolCalls: number; inputTokens: number; outputTokens: number };
  output?: unknown;
  error?: { message: string; node?: string };
  haltedBy?: Actor;
  /** why a halted run stopped: an operator, a budget or a per-run limit */
  halt?: HaltInfo;
  /** spent, open reservations and the per-run cap set on the run (src/budget/run-budget.ts) */
  budget: RunBudget;
  /** Approvals of nodes already left, by id (the current one is on the cursor). */
  approvals: Record<string, ApprovalState>;
  /** The policy set in force (from the latest policy.loaded event); null: no governance configured. */
  policy: LoadedPolicy | null;
}
