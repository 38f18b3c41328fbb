/**
 * The shared budgets for pure tests: one ledger per budget name, answered with the real ledger
 * rules (src/budget/ledger.ts) the way the tenant's Budget Durable Object combines them (in
 * each scope settle the replaced slice, then grant between `min` and `want`; all scopes or
 * none). No I/O.
 */
import type { NewEvent } from "../../src/engine/events.ts";
import { close, reserve, type LedgerState, type Totals } from "../../src/budget/ledger.ts";
import type { Limits } from "../../src/budget/budget-limits.ts";
import type { SliceRequest } from "../../src/budget/run-budget.ts";
import type { SliceReturnJob } from "../../src/budget/settlement.ts";
import { BUDGET_WAITS, budgetWaitDelay } from "../../src/budget/budget-client.ts";

export class BudgetBook {
  readonly ledgers = new Map<string, LedgerState>();
  private readonly limits: Record<string, Limits>;
  constructor(limits: Record<string, Limits> = {}) {
    this.limits = limits;
  }

  ledger(name: string): LedgerState {
    let l = this.ledgers.get(name);
    if (!l) this.ledgers.set(name, (l = { limits: this.limits[name] ?? {}, reservations: {}, totals: {} }));
    return l;
  }

  /** What the scope `name` has reserved and settled in the window `key` (`day:…`, `month:…`, `run:…`). */
  totals(name: string, key: string): Totals {
    return this.ledger(name).totals[key] ?? { reserved: { usdMicros: 0, tokens: 0 }, settled: { usdMicros: 0, tokens: 0 } };
  }

  /** The tenant's Budget object answering a slice request: all scopes granted, or none (nothing written); busy (deferred) while only other runs' slices stand in the way, until the run's last ask. */
  answer(runId: string, r: SliceRequest, at: number): NewEvent {
    const next = new Map<string, LedgerState>();
    const granted: Array<{ name: string; amount: { usdMicros: number; tokens: number }; day: string; month: string }> = [];
    for (const sc of r.scopes) {
      let l = this.ledger(sc.name);
      if (sc.replaces && !l.reservations[r.sliceId]) l = close(l, { id: sc.replaces.sliceId, runId, actual: sc.replaces.actual, at }).state;
      const step = reserve(l, { id: r.sliceId, runId, amount: sc.want, min: sc.min, at, extraLimits: sc.limits, wait: r.deferred < BUDGET_WAITS });
      const o = step.outcome;
      if (o.kind === "busy") {
        const f = o.refusal;
        return { type: "budget.deferred", data: { sliceId: r.sliceId, name: sc.name, window: f.window, unit: f.unit, limit: f.limit, used: f.used, wouldAdd: f.wouldAdd, attempt: r.deferred + 1, retryAt: at + budgetWaitDelay(r.deferred) } };
      }
      if (o.kind === "refused") {
        const f = o.refusal;
        return { type: "budget.refused", data: { node: r.node, callId: r.callId, reservationId: r.reservationId, sliceId: r.sliceId, scope: sc.scope, name: sc.name, window: f.window, unit: f.unit, period: f.period, limit: f.limit, used: f.used, wouldAdd: f.wouldAdd, reason: `${sc.name} refused` } };
      }
      if (o.kind !== "granted") throw new Error(`slice ${r.sliceId} is closed in ${sc.name}`);
      next.set(sc.name, step.state);
      granted.push({ name: sc.name, amount: o.reservation.amount, day: o.reservation.periods.day, month: o.reservation.periods.month });
    }
    for (const [name, l] of next) this.ledgers.set(name, l);
    return { type: "budget.slice_granted", data: { sliceId: r.sliceId, scopes: granted.map((g) => ({ name: g.name, granted: g.amount, day: g.day, month: g.month, used: { usdMicros: 0, tokens: 0 } })) } };
  }

  giveBack(job: SliceReturnJob, at: number): NewEvent[] {
    return job.scopes.map((sc) => {
      const step = close(this.ledger(sc.name), { id: job.sliceId, runId: job.runId, actual: sc.actual, at, release: sc.release });
      this.ledgers.set(sc.name, step.state);
      return { type: "budget.slice_returned", data: { sliceId: job.sliceId, name: sc.name, outcome: sc.release ? "released" : "settled", actual: sc.release ? { usdMicros: 0, tokens: 0 } : sc.actual } };
    });
  }
}
