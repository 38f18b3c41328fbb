/**
 * A slice request's ask and the event the run records for the answer (pure): the ask sent to
 * the tenant's Budget object (src/budget/ledger.ts `reserveSlices`), and `budget.slice_granted`,
 * `budget.refused` (which budget, what it has used, what the call would have cost),
 * `budget.deferred` (no room yet: ask again after a backoff, BUDGET_WAITS times, the last ask
 * taking the answer) or `budget.unavailable` (the Budget object could not be reached, or the slice
 * id was closed; the run spends nothing and retries with backoff). A slice asked for at admission
 * that is not granted is `budget.slice_declined` instead: the run goes on, and its first model
 * call asks again, where those answers apply.
 */
import type { NewEvent } from "../engine/events.ts";
import type { SliceAsk, SlicesAnswer } from "./ledger.ts";
import { describeAmount } from "./money.ts";
import type { SliceRequest } from "./run-budget.ts";

export const BUDGET_RETRY_BASE_MS = 500;
export const BUDGET_RETRY_MAX_MS = 60_000;
/** Waiting for room in a shared budget: ask again after 100 ms, doubling to 2 s, at most this many times (about 17 s in all), then take the refusal. */
export const BUDGET_WAITS = 12;
export const BUDGET_WAIT_BASE_MS = 100;
export const BUDGET_WAIT_MAX_MS = 2_000;

/** How long to wait before asking again after the n-th `budget.deferred` (0-based). */
export function budgetWaitDelay(deferred: number): number {
  return Math.min(BUDGET_WAIT_MAX_MS, BUDGET_WAIT_BASE_MS * 2 ** Math.max(0, deferred));
}

/** Backoff before the n-th retry of an unreachable budget (0.5 s, 1 s, 2 s … at most a minute). */
export function budgetRetryDelay(unavailable: number): number {
  return Math.min(BUDGET_RETRY_MAX_MS, BUDGET_RETRY_BASE_MS * 2 ** Math.max(0, unavailable));
}

/** What the Budget object is asked for each scope of `r`. */
export function sliceAsks(r: SliceRequest): SliceAsk[] {
  const wait = r.deferred < BUDGET_WAITS; // the last ask takes a refusal
  return r.scopes.map((sc) => ({ name: sc.name, amount: sc.want, min: sc.min, extraLimits: sc.limits, wait, ...(sc.replaces ? { replaces: { id: sc.replaces.sliceId, actual: sc.replaces.actual } } : {}) }));
}

/** The event recording `answer` to `r`, at `now`. */
export function sliceAnswerEvent(r: SliceRequest, answer: SlicesAnswer, now: number): NewEvent {
  if (r.admission && answer.kind !== "granted") return sliceDeclined(r, answer.kind, answer.kind === "closed" ? `slice ${r.sliceId} is already closed in ${answer.name}` : `${answer.name} has no room for it now`);
  switch (answer.kind) {
    case "granted":
      return {
        type: "budget.slice_granted",
        data: {
          sliceId: r.sliceId,
          scopes: answer.scopes.map(({ name, reservation, used }) => ({ name, granted: reservation.amount, day: reservation.periods.day, month: reservation.periods.month, used: { usdMicros: used.reserved.usdMicros + used.settled.usdMicros, tokens: used.reserved.tokens + used.settled.tokens } })),
        },
      };
    case "refused": {
      const f = answer.refusal;
      const sc = r.scopes.find((x) => x.name === answer.name)!;
      const [callId, reservationId] = [r.callId ?? "", r.reservationId ?? ""]; // a call's request (an admission request is declined above)
      const windowName = f.window === "run" ? "per-run" : f.window === "day" ? `daily (${f.period.slice(4)} UTC)` : `monthly (${f.period.slice(6)} UTC)`;
      const reason = `the ${sc.scope} budget ${sc.name} (${windowName}, ${describeAmount(f.unit, f.limit)}) has ${describeAmount(f.unit, f.used)} used or reserved; the next model call could cost up to ${describeAmount(f.unit, f.wouldAdd)}`;
      return { type: "budget.refused", data: { node: r.node, callId, reservationId, sliceId: r.sliceId, scope: sc.scope, name: sc.name, window: f.window, unit: f.unit, period: f.period, limit: f.limit, used: f.used, wouldAdd: f.wouldAdd, reason } };
    }
    case "busy": {
      const f = answer.refusal;
      return { type: "budget.deferred", data: { sliceId: r.sliceId, name: answer.name, window: f.window, unit: f.unit, limit: f.limit, used: f.used, wouldAdd: f.wouldAdd, attempt: r.deferred + 1, retryAt: now + budgetWaitDelay(r.deferred) } };
    }
    case "closed":
      return sliceUnavailable(r, `slice ${r.sliceId} is already closed in ${answer.name}`, now);
  }
}

/** The Budget object could not be reached (or did not answer the request): the run spends nothing and asks again after a backoff. */
export function sliceUnavailable(r: SliceRequest, error: string, now: number): NewEvent {
  if (r.admission) return sliceDeclined(r, "unavailable", error);
  return { type: "budget.unavailable", data: { sliceId: r.sliceId, error: error.slice(0, 500), attempt: r.unavailable + 1, retryAt: now + budgetRetryDelay(r.unavailable) } };
}

/** The slice asked for at admission was not granted: the run goes on and asks at its first model call (where the usual waits, retries and refusal apply). */
function sliceDeclined(r: SliceRequest, answer: "refused" | "busy" | "closed" | "unavailable", reason: string): NewEvent {
  return { type: "budget.slice_declined", data: { sliceId: r.sliceId, answer, reason: reason.slice(0, 500) } };
}
