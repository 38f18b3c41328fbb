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


/** What a model call is reserved from: the policies at its node, its price and worst case, and the shared budgets (tenant, workflow) with their policy limits. */
function callBasis(s: RunState, node: WorkflowNode, request: LlmRequest) {
  const levels = levelPolicies(s.policy, node);
  const price = priceFor(request.provider, request.model, priceOverrides(levels));
  const estimate = worstCaseCost(request, outputCapFor(s, node, request), price);
  const shared = sharedLimits(levels);
  const scopes = [
    { scope: "tenant" as const, name: tenantBudgetName(s.tenant), limits: shared.tenant },
    { scope: "workflow" as const, name: workflowBudgetName(s.tenant, s.workflow.id), limits: shared.workflow },
  ];
  return { levels, price, estimate, scopes, worst: { usdMicros: estimate.usdMicros, tokens: estimate.tokens } };
}

/**
 * The run's first slice, asked for as the run starts when its first node is a model call: the
 * ask the gate would make at that call (its worst case as the least, a few calls' worth wanted),
 * recorded with the run's start so the answer can arrive while the run indexes itself and takes
 * its first step. Null when there is nothing to ask (no governance loaded, or the call would
 * already break the run's own cap: the gate stops the run at the call).
 */
export function admissionSlice(s: RunState, node: WorkflowNode, request: LlmRequest): NewEvent | null {
  if (!s.policy) return null;
  const { levels, estimate, scopes, worst } = callBasis(s, node, request);
  if (breachOf("run", runCap(levels, s.budget.cap), s.budget.spent, estimate)) return null;
  const want = sliceWant(worst);
  return {
    type: "budget.slice_requested",
    data: { sliceId: sliceIdFor(s.runId, s.budget.issued + 1), node: s.doc.start, callId: null, reservationId: null, admission: true, scopes: scopes.map((sc) => ({ ...sc, min: worst, want, replaces: null })) },
  };
}

export function modelCallBudget(s: RunState, node: WorkflowNode, call: { callId: string; attempt: number; request: LlmRequest }): BudgetGate {
  if (!s.policy) return { kind: "proceed" }; // no governance loaded (pure tests of the interpreter)
  const reservationId = reservationIdFor(s.runId, call.callId, call.attempt);
  const open = s.budget.open[reservationId];
  if (open) return open.status === "granted" && !open.closing ? { kind: "proceed" } : { kind: "stopped" };
  if (s.budget.request) return { kind: "reserve", request: s.budget.request };
  const { levels, price, estimate, scopes, worst } = callBasis(s, node, call.request);
  const cur = s.cursor!;
  const breach = breachOf("run", runCap(levels, s.budget.cap), s.budget.spent, estimate);
  if (breach) {
    const reason = `the run's budget of ${describeAmount(breach.unit, breach.limit)} cannot take the next model call: ${describeAmount(breach.unit, breach.used)} spent, the call could cost up to ${describeAmount(breach.unit, breach.wouldAdd)}`;
    return { kind: "append", events: [{ type: "run.limit_reached", data: { node: cur.node, callId: call.callId, limit: breach.unit, max: breach.limit, used: breach.used, wouldAdd: breach.wouldAdd, reason } }] };
  }
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
