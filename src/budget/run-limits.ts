/**
 * Per-run limits on steps, tool calls and agent-loop iterations: the workflow document's and
 * node's own, and the policies' (most restrictive wins). A limit reached stops the run before
 * the next step (`run.limit_reached`, then halted like a budget breach). Pure.
 */
import type { NewEvent } from "../engine/events.ts";
import type { RunState } from "../engine/run-state.ts";
import type { WorkflowNode } from "../engine/workflow-schema.ts";
import { counterLimits, levelPolicies } from "./policy-budgets.ts";

const minOf = (a: number, b: number | undefined) => (b === undefined ? a : Math.min(a, b));

function reached(node: string, limit: "steps" | "toolCalls" | "iterations", max: number, used: number, reason: string, callId?: string): NewEvent {
  return { type: "run.limit_reached", data: { node, ...(callId ? { callId } : {}), limit, max, used, wouldAdd: 1, reason } };
}

/** Before a node starts: the step limit. */
export function stepLimit(s: RunState, next: string): NewEvent | null {
  const max = minOf(s.doc.limits.maxSteps, counterLimits(levelPolicies(s.policy)).maxSteps);
  if (s.counters.steps < max) return null;
  return reached(next, "steps", max, s.counters.steps, `step limit reached (${max} steps); the workflow may loop`);
}

/** Before a tool call starts: the tool call limit. */
export function toolCallLimit(s: RunState, node: WorkflowNode, callId: string): NewEvent | null {
  const max = counterLimits(levelPolicies(s.policy, node)).maxToolCalls;
  if (max === undefined || s.counters.toolCalls < max) return null;
  return reached(s.cursor!.node, "toolCalls", max, s.counters.toolCalls, `tool call limit reached (${max} tool calls per run)`, callId);
}

/** Before an agent's next model call: its iteration limit. */
export function iterationLimit(s: RunState, node: Extract<WorkflowNode, { kind: "agent" }>, callId: string): NewEvent | null {
  const max = minOf(node.maxIterations, counterLimits(levelPolicies(s.policy, node)).maxIterations);
  const used = s.cursor?.agent?.iteration ?? 0;
  if (used < max) return null;
  return reached(s.cursor!.node, "iterations", max, used, `agent reached maxIterations (${max}) without a final answer`, callId);
}
