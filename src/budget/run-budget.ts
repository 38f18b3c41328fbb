/**
 * A run's side of its budgets, folded from its log: what it has spent (actual costs, or the
 * worst case of a call interrupted by a crash), the per-run cap set on it through the API, and
 * its open reservations (requested, granted or refused, until the shared budgets acknowledge
 * their settlement or release). Pure.
 */
import type { RunEvent } from "../engine/events.ts";
import type { RunState } from "../engine/run-state.ts";
import type { BudgetScopeRef } from "./budget-events.ts";
import type { Cap } from "./budget-limits.ts";
import { actualCost, type CallEstimate } from "./call-cost.ts";
import { add, ZERO, type Amount } from "./money.ts";
import type { ModelPrice } from "./price-table.ts";

export interface OpenReservation {
  reservationId: string;
  callId: string;
  node: string;
  attempt: number;
  estimate: CallEstimate;
  price: ModelPrice;
  scopes: BudgetScopeRef[];
  status: "requested" | "granted" | "refused";
  /** times a Budget object could not be reached for it */
  unavailable: number;
  /** decided: settle at `actual`, or release; cleared from `open` once the shared budgets acknowledge */
  closing: null | { actual: Amount; release: boolean };
}

export interface RunBudget {
  spent: Amount;
  /** the per-run cap set on this run through the API */
  cap: Cap | null;
  open: Record<string, OpenReservation>;
}

export interface HaltInfo {
  cause: "operator" | "budget" | "limit";
  reason: string;
}

export const initialRunBudget = (): RunBudget => ({ spent: ZERO, cap: null, open: {} });

/** One reservation per model call attempt: unique within every Budget object. */
export function reservationIdFor(runId: string, callId: string, attempt: number): string {
  return `${runId}/${callId}#${attempt}`;
}

export const BUDGET_ACTOR = { sub: "system:budget", roles: [] as string[] };

const withOpen = (s: RunState, r: OpenReservation): RunState => ({ ...s, budget: { ...s.budget, open: { ...s.budget.open, [r.reservationId]: r } } });

function halted(s: RunState, cause: HaltInfo["cause"], reason: string): RunState {
  if (s.terminal) return s;
  return { ...s, terminal: "halted", haltedBy: BUDGET_ACTOR, halt: { cause, reason } };
}

type BudgetEvent = Extract<RunEvent, { type: "budget.requested" | "budget.reserved" | "budget.refused" | "budget.unavailable" | "budget.settled" | "run.limit_reached" | "budget.limits_set" }>;

/** The budget events themselves. */
export function applyBudgetEvent(s: RunState, e: BudgetEvent): RunState {
  switch (e.type) {
    case "budget.requested": {
      const d = e.data;
      return withOpen(s, { reservationId: d.reservationId, callId: d.callId, node: d.node, attempt: d.attempt, estimate: d.estimate, price: d.price, scopes: d.scopes, status: "requested", unavailable: 0, closing: null });
    }
    case "budget.reserved": {
      const r = s.budget.open[e.data.reservationId];
      return r && r.status === "requested" ? withOpen(s, { ...r, status: "granted" }) : s;
    }
    case "budget.unavailable": {
      const r = s.budget.open[e.data.reservationId];
      return r ? withOpen(s, { ...r, unavailable: r.unavailable + 1 }) : s;
    }
    case "budget.refused": {
      const r = s.budget.open[e.data.reservationId];
      // whatever a scope may still hold for it is released (the refusing call already released the others)
      const next = r ? withOpen(s, { ...r, status: "refused", closing: r.closing ?? { actual: ZERO, release: true } }) : s;
      return halted(next, "budget", e.data.reason);
    }
    case "budget.settled": {
      if (!s.budget.open[e.data.reservationId]) return s;
      const open = { ...s.budget.open };
      delete open[e.data.reservationId];
      return { ...s, budget: { ...s.budget, open } };
    }
    case "run.limit_reached":
      return halted(s, e.data.limit === "usd" || e.data.limit === "tokens" ? "budget" : "limit", e.data.reason);
    case "budget.limits_set":
      return { ...s, budget: { ...s.budget, cap: Object.keys(e.data.limits).length ? e.data.limits : null } };
  }
}

function grantedFor(s: RunState, callId: string): OpenReservation | undefined {
  for (const r of Object.values(s.budget.open)) if (r.callId === callId && r.status === "granted" && !r.closing) return r;
  return undefined;
}

/**
 * What other events mean for the budget (applied after the event itself, `prev` is the state
 * before it): a completed call settles at its actual cost, a failed one releases, a call
 * interrupted by a crash settles at its worst case (it may have been billed), and a run that
 * ends releases what it had reserved for calls that never started.
 */
export function followBudget(prev: RunState, s: RunState, e: RunEvent): RunState {
  let next = s;
  if (e.type === "llm.completed") {
    const r = grantedFor(prev, e.data.callId);
    if (r) {
      const actual = actualCost(e.data.response.usage, r.price);
      next = withOpen(next, { ...r, closing: { actual, release: false } });
      next = { ...next, budget: { ...next.budget, spent: add(next.budget.spent, actual) } };
    }
  } else if (e.type === "llm.failed") {
    const r = grantedFor(prev, e.data.callId);
    if (r) next = withOpen(next, { ...r, closing: { actual: ZERO, release: true } });
  } else if (e.type === "run.recovered") {
    for (const callId of e.data.interrupted) {
      const r = grantedFor(prev, callId);
      if (!r || prev.call?.callId !== callId || prev.call.phase !== "started") continue;
      const worst = { usdMicros: r.estimate.usdMicros, tokens: r.estimate.tokens };
      next = withOpen(next, { ...r, closing: { actual: worst, release: false } });
      next = { ...next, budget: { ...next.budget, spent: add(next.budget.spent, worst) } };
    }
  } else if (e.type === "run.halted") {
    next = { ...next, halt: { cause: "operator", reason: e.data.reason ?? `halted by ${e.data.actor.sub}` } };
  }
  if (next.terminal && !prev.terminal) {
    const inFlight = next.call?.phase === "started" ? next.call.callId : null;
    for (const r of Object.values(next.budget.open)) {
      if (r.closing || (r.status === "granted" && r.callId === inFlight)) continue; // a call in flight settles when its outcome is recorded
      next = withOpen(next, { ...r, closing: { actual: ZERO, release: true } });
    }
  }
  return next;
}

/** Reservations whose settlement was decided by the change from `prev` to `next`: each becomes one outbox job. */
export function newlyClosing(prev: RunBudget, next: RunBudget): OpenReservation[] {
  const out: OpenReservation[] = [];
  for (const r of Object.values(next.open)) if (r.closing && !prev.open[r.reservationId]?.closing) out.push(r);
  return out;
}
