/**
 * The budget gate in the interpreter, after the policy gate and before a model call attempt
 * starts. Pure: it decides the attempt's worst case, stops the run if its own per-run cap
 * cannot take it (`run.limit_reached`), asks for a slice of every shared budget whose current
 * slice cannot cover it (`budget.slice_requested`; the shell asks the Budget objects and
 * records their answer), and otherwise reserves it from the slices (`budget.requested` +
 * `budget.reserved`, no round trip) and lets the call start. A refusal (`budget.refused`,
 * recorded by the shell) has already halted the run.
 */
import type { LlmRequest, NewEvent } from "../engine/events.ts";
import type { RunState } from "../engine/run-state.ts";
import type { WorkflowNode } from "../engine/workflow-schema.ts";
import { breachOf } from "./budget-limits.ts";
import { DEFAULT_MAX_OUTPUT_TOKENS, worstCaseCost } from "./call-cost.ts";
import { describeAmount } from "./money.ts";
import { levelPolicies, maxTokensPerCall, priceOverrides, runCap, sharedLimits } from "./policy-budgets.ts";
import { priceFor } from "./price-table.ts";
import { reservationIdFor, type SliceRequest } from "./run-budget.ts";
import { covers, remainingOf, sliceIdFor, sliceWant, takeFrom } from "./slices.ts";
import { tenantBudgetName, workflowBudgetName } from "./budget-scopes.ts";

export type BudgetGate = { kind: "append"; events: NewEvent[] } | { kind: "reserve"; request: SliceRequest } | { kind: "proceed" } | { kind: "stopped" };

/** The output cap a call is reserved (and sent) with: the node's, else the policies' per-call cap, else the provider's default, else 4,096. */
export function outputCapFor(s: RunState, node: WorkflowNode, request: Pick<LlmRequest, "maxTokens">): number {
  if (request.maxTokens) return request.maxTokens;
  const policyCap = maxTokensPerCall(levelPolicies(s.policy, node));
  if (policyCap !== undefined) return policyCap;
  if (s.doc.provider.kind === "anthropic") return s.doc.provider.maxTokens;
  return DEFAULT_MAX_OUTPUT_TOKENS;
}


export function modelCallBudget(s: RunState, node: WorkflowNode, call: { callId: string; attempt: number; request: LlmRequest }): BudgetGate {
  if (!s.policy) return { kind: "proceed" }; // no governance loaded (pure tests of the interpreter)
  const reservationId = reservationIdFor(s.runId, call.callId, call.attempt);
  const open = s.budget.open[reservationId];
  if (open) return open.status === "granted" && !open.closing ? { kind: "proceed" } : { kind: "stopped" };
  if (s.budget.request) return { kind: "reserve", request: s.budget.request };
  const levels = levelPolicies(s.policy, node);
  const price = priceFor(call.request.provider, call.request.model, priceOverrides(levels));
  const estimate = worstCaseCost(call.request, outputCapFor(s, node, call.request), price);
  const cur = s.cursor!;
  const breach = breachOf("run", runCap(levels, s.budget.cap), s.budget.spent, estimate);
  if (breach) {
    const reason = `the run's budget of ${describeAmount(breach.unit, breach.limit)} cannot take the next model call: ${describeAmount(breach.unit, breach.used)} spent, the call could cost up to ${describeAmount(breach.unit, breach.wouldAdd)}`;
    return { kind: "append", events: [{ type: "run.limit_reached", data: { node: cur.node, callId: call.callId, limit: breach.unit, max: breach.limit, used: breach.used, wouldAdd: breach.wouldAdd, reason } }] };
  }
  const shared = sharedLimits(levels);
  const scopes = [
    { scope: "tenant" as const, name: tenantBudgetName(s.tenant), limits: shared.tenant },
    { scope: "workflow" as const, name: workflowBudgetName(s.tenant, s.workflow.id), limits: shared.workflow },
  ];
  const worst = { usdMicros: estimate.usdMicros, tokens: estimate.tokens };
  const short = scopes.filter((sc) => !covers(s.budget.slices[sc.name], worst, s.lastAt));
  if (short.length) {
    const sliceId = sliceIdFor(s.runId, s.budget.issued + 1);
    const want = sliceWant(worst);
    const request = short.map((sc) => {
      const old = s.budget.slices[sc.name];
      return { ...sc, min: worst, want, replaces: old ? { sliceId: old.sliceId, actual: old.used } : null };
    });
    return { kind: "append", events: [{ type: "budget.slice_requested", data: { sliceId, node: cur.node, callId: call.callId, reservationId, scopes: request } }] };
  }
  return {
    kind: "append",
    events: [
      { type: "budget.requested", data: { node: cur.node, callId: call.callId, reservationId, attempt: call.attempt, estimate, price, scopes } },
      { type: "budget.reserved", data: { reservationId, scopes: scopes.map((sc) => { const sl = s.budget.slices[sc.name]; return { name: sc.name, sliceId: sl.sliceId, remaining: remainingOf(takeFrom(sl, worst)) }; }) } },
    ],
  };
}
