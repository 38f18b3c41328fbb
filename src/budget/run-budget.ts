/**
 * A run's side of its budgets, folded from its log: what it has spent (actual costs, or the
 * worst case of a call interrupted by a crash), the per-run cap set on it through the API, the
 * slices it holds of the shared budgets (src/budget/slices.ts), the slice request waiting for
 * an answer, the reservations of its model calls until they are settled against the slices,
 * and the slices on their way back to their Budget objects. Pure.
 */
import type { RunEvent } from "../engine/events.ts";
import type { RunState } from "../engine/run-state.ts";
import type { BudgetScopeRef } from "./budget-events.ts";
import type { Cap } from "./budget-limits.ts";
import { actualCost, type CallEstimate } from "./call-cost.ts";
import { add, sub, ZERO, type Amount } from "./money.ts";
import type { ModelPrice } from "./price-table.ts";
import { takeFrom, type Slice } from "./slices.ts";

export interface OpenReservation {
  reservationId: string;
  callId: string;
  node: string;
  attempt: number;
  estimate: CallEstimate;
  price: ModelPrice;
  scopes: BudgetScopeRef[];
  /** the slice each scope lends it from (scope name → slice id), once reserved */
  slices: Record<string, string>;
  status: "requested" | "granted";
  /** decided: settle at `actual`, or release; the settlement is the next decision */
  closing: null | { actual: Amount; release: boolean };
}

export interface SliceRequest {
  sliceId: string;
  node: string;
  /** the call it is for (null for the slice asked at admission, before any call) */
  callId: string | null;
  reservationId: string | null;
  admission?: true;
  scopes: Array<BudgetScopeRef & { min: Amount; want: Amount; replaces: { sliceId: string; actual: Amount } | null }>;
  /** times a Budget object could not be reached for it, times it had no room yet (`budget.deferred`), and when to ask again */
  unavailable: number;
  deferred: number;
  retryAt: number | null;
}

/** A slice retired from use, until its Budget object acknowledges the return. */
export interface ReturningSlice {
  sliceId: string;
  name: string;
  actual: Amount;
}

export interface RunBudget {
  spent: Amount;
  /** the per-run cap set on this run through the API */
  cap: Cap | null;
  open: Record<string, OpenReservation>;
  /** the slice each shared budget currently lends from, by scope name */
  slices: Record<string, Slice>;
  request: SliceRequest | null;
  /** slice requests made so far (slice ids are numbered) */
  issued: number;
  /** by `${sliceId} ${name}` */
  returning: Record<string, ReturningSlice>;
}

export interface HaltInfo {
  cause: "operator" | "budget" | "limit";
  reason: string;
}

export const initialRunBudget = (): RunBudget => ({ spent: ZERO, cap: null, open: {}, slices: {}, request: null, issued: 0, returning: {} });

/** One reservation per model call attempt. */
export function reservationIdFor(runId: string, callId: string, attempt: number): string {
  return `${runId}/${callId}#${attempt}`;
}

export const BUDGET_ACTOR = { sub: "system:budget", roles: [] as string[] };

const withBudget = (s: RunState, change: Partial<RunBudget>): RunState => ({ ...s, budget: { ...s.budget, ...change } });
const withOpen = (s: RunState, r: OpenReservation): RunState => withBudget(s, { open: { ...s.budget.open, [r.reservationId]: r } });
const returningKey = (sliceId: string, name: string) => `${sliceId} ${name}`;

function halted(s: RunState, cause: HaltInfo["cause"], reason: string): RunState {
  if (s.terminal) return s;
  return { ...s, terminal: "halted", haltedBy: BUDGET_ACTOR, halt: { cause, reason } };
}

/** A slice request's id sent back released in each of its scopes (the Budget object may have granted it without the run knowing). */
const released = (req: SliceRequest): ReturningSlice[] => req.scopes.map((sc) => ({ sliceId: req.sliceId, name: sc.name, actual: ZERO }));

/** Slices (and slice ids a Budget object may hold without the run knowing) sent back: settled at `actual`, or released. */
function retire(s: RunState, slices: ReturningSlice[]): RunState {
  if (!slices.length) return s;
  const returning = { ...s.budget.returning };
  for (const r of slices) returning[returningKey(r.sliceId, r.name)] = r;
  return withBudget(s, { returning });
}

type BudgetEvent = Extract<
  RunEvent,
  { type: "budget.slice_requested" | "budget.slice_granted" | "budget.slice_declined" | "budget.slice_returned" | "budget.requested" | "budget.reserved" | "budget.refused" | "budget.deferred" | "budget.unavailable" | "budget.settled" | "run.limit_reached" | "budget.limits_set" }
>;

/** The budget events themselves. */
export function applyBudgetEvent(s: RunState, e: BudgetEvent): RunState {
  const b = s.budget;
  switch (e.type) {
    case "budget.slice_requested":
      return withBudget(s, { request: { ...e.data, unavailable: 0, deferred: 0, retryAt: null }, issued: b.issued + 1 });
    case "budget.slice_granted": {
      const req = b.request;
      if (!req || req.sliceId !== e.data.sliceId) return s;
      const slices = { ...b.slices };
      for (const g of e.data.scopes) {
        const sc = req.scopes.find((x) => x.name === g.name);
        if (sc) slices[g.name] = { sliceId: req.sliceId, scope: sc.scope, name: g.name, granted: g.granted, used: ZERO, day: g.day, month: g.month }; // the slice it replaces was settled by the same grant
      }
      return withBudget(s, { slices, request: null });
    }
    case "budget.slice_declined": {
      const req = b.request;
      if (!req || req.sliceId !== e.data.sliceId) return s;
      const cleared = withBudget(s, { request: null });
      // "unavailable" does not say whether the Budget object granted it (the answer may have been lost): the id goes back, released, so it can never stay reserved
      return e.data.answer === "unavailable" ? retire(cleared, released(req)) : cleared;
    }
    case "budget.unavailable": {
      const req = b.request;
      return req && req.sliceId === e.data.sliceId ? withBudget(s, { request: { ...req, unavailable: req.unavailable + 1, retryAt: e.data.retryAt } }) : s;
    }
    case "budget.deferred": {
      const req = b.request;
      return req && req.sliceId === e.data.sliceId ? withBudget(s, { request: { ...req, deferred: req.deferred + 1, retryAt: e.data.retryAt } }) : s;
    }
    case "budget.refused": {
      // nothing was granted or settled: the slices the run holds stay its own, and go back as it halts
      const req = b.request;
      return halted(req && req.sliceId === e.data.sliceId ? withBudget(s, { request: null }) : s, "budget", e.data.reason);
    }
    case "budget.slice_returned": {
      const returning = { ...b.returning };
      delete returning[returningKey(e.data.sliceId, e.data.name)];
      return withBudget(s, { returning });
    }
    case "budget.requested": {
      const d = e.data;
      return withOpen(s, { reservationId: d.reservationId, callId: d.callId, node: d.node, attempt: d.attempt, estimate: d.estimate, price: d.price, scopes: d.scopes, slices: {}, status: "requested", closing: null });
    }
    case "budget.reserved": {
      const r = b.open[e.data.reservationId];
      if (!r || r.status !== "requested") return s;
      const worst = { usdMicros: r.estimate.usdMicros, tokens: r.estimate.tokens };
      const slices = { ...b.slices };
      const from: Record<string, string> = {};
      for (const x of e.data.scopes) {
        const sl = slices[x.name];
        if (sl && sl.sliceId === x.sliceId) slices[x.name] = takeFrom(sl, worst);
        from[x.name] = x.sliceId;
      }
      return withBudget(withOpen(s, { ...r, status: "granted", slices: from }), { slices });
    }
    case "budget.settled": {
      const r = b.open[e.data.reservationId];
      if (!r) return s;
      const open = { ...b.open };
      delete open[e.data.reservationId];
      // the slice gives back the worst case it lent and takes the actual cost
      const change = sub(e.data.actual, { usdMicros: r.estimate.usdMicros, tokens: r.estimate.tokens });
      const slices = { ...b.slices };
      for (const [name, sliceId] of Object.entries(r.slices)) {
        const sl = slices[name];
        if (sl && sl.sliceId === sliceId) slices[name] = takeFrom(sl, change);
      }
      return withBudget(s, { open, slices });
    }
    case "run.limit_reached":
      return halted(s, e.data.limit === "usd" || e.data.limit === "tokens" ? "budget" : "limit", e.data.reason);
    case "budget.limits_set":
      return withBudget(s, { cap: Object.keys(e.data.limits).length ? e.data.limits : null });
  }
}

function grantedFor(s: RunState, callId: string): OpenReservation | undefined {
  for (const r of Object.values(s.budget.open)) if (r.callId === callId && r.status === "granted" && !r.closing) return r;
  return undefined;
}

/** The settlements decided and not yet recorded (the interpreter's first decision, even after the run ended). */
export function pendingSettlements(s: RunState): NewSettlement[] {
  const out: NewSettlement[] = [];
  for (const r of Object.values(s.budget.open)) {
    if (!r.closing) continue;
    out.push({ type: "budget.settled", data: { reservationId: r.reservationId, outcome: r.closing.release ? "released" : "settled", actual: r.closing.release ? ZERO : r.closing.actual, scopes: Object.keys(r.slices) } });
  }
  return out;
}
type NewSettlement = { type: "budget.settled"; data: Extract<RunEvent, { type: "budget.settled" }>["data"] };

/** Waiting for room in a shared budget: the last answer to its slice request was `budget.deferred`. */
export const waitingForBudget = (b: RunBudget): boolean => b.request !== null && b.request.deferred > 0;

/**
 * A run holds slices only while it is running: once it waits (for a timer, a person, or room in a
 * shared budget), is paused, needs attention or has ended, and no call is reserved against them, they go back (with a slice request a Budget
 * object may have granted but the run never recorded, once the run has ended, or at once for an
 * admission ask, which no call is waiting for). Applied after every event.
 */
export function retireIdleSlices(s: RunState, running: boolean): RunState {
  const b = s.budget;
  if (running || Object.keys(b.open).length) return s;
  const back: ReturningSlice[] = Object.values(b.slices).map((sl) => ({ sliceId: sl.sliceId, name: sl.name, actual: sl.used }));
  let req = b.request;
  if (req && (s.terminal || req.admission)) {
    back.push(...released(req));
    req = null;
  }
  if (!back.length) return s;
  return retire(withBudget(s, { slices: {}, request: req }), back);
}

/**
 * What other events mean for the budget (applied after the event itself, `prev` is the state
 * before it): a completed call settles at its actual cost; a failed one releases if the provider
 * answered with an error status, and settles at its worst case if it got no answer (a timeout,
 * a broken connection, a halt that aborted it: it may have been billed), as does a call
 * interrupted by a crash; a node or a run that ends releases what it had reserved for calls that never started.
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
    if (r && e.data.error.status !== undefined) {
      next = withOpen(next, { ...r, closing: { actual: ZERO, release: true } }); // the provider answered with an error: nothing billed
    } else if (r) {
      // no answer (a timeout, a broken connection, a halt that aborted it): the request may have been billed
      const worst = { usdMicros: r.estimate.usdMicros, tokens: r.estimate.tokens };
      next = withOpen(next, { ...r, closing: { actual: worst, release: false } });
      next = { ...next, budget: { ...next.budget, spent: add(next.budget.spent, worst) } };
    }
  } else if (e.type === "run.recovered") {
    for (const callId of e.data.interrupted) {
      const r = grantedFor(prev, callId);
      if (!r || prev.call?.callId !== callId || prev.call.phase !== "started") continue;
      const worst = { usdMicros: r.estimate.usdMicros, tokens: r.estimate.tokens };
      next = withOpen(next, { ...r, closing: { actual: worst, release: false } });
      next = { ...next, budget: { ...next.budget, spent: add(next.budget.spent, worst) } };
    }
  } else if (e.type === "node.completed") {
    // a call reserved but never started (its node ended another way, e.g. a policy changed after a crash): release it
    for (const r of Object.values(next.budget.open)) {
      if (r.node !== e.data.node || r.closing || (prev.call?.callId === r.callId && prev.call.phase === "started")) continue;
      next = withOpen(next, { ...r, closing: { actual: ZERO, release: true } });
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

/** Slices that began going back with the change from `prev` to `next`: each becomes one outbox job. */
export function newlyReturning(prev: RunBudget, next: RunBudget): ReturningSlice[] {
  return Object.entries(next.returning)
    .filter(([k]) => !prev.returning[k])
    .map(([, r]) => r);
}
