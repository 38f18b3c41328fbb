/**
 * The shared budgets for pure tests: one ledger per Budget object name, answered with the real
 * ledger rules (src/budget/ledger.ts) the way the Budget Durable Object and the run's budget
 * client combine them (settle the replaced slice, then grant between `min` and `want`; a
 * refusal by one scope leaves the others' grants for the run to return). No I/O.
 */
import type { NewEvent } from "../../src/engine/events.ts";
import { close, reserve, type LedgerState, type Totals } from "../../src/budget/ledger.ts";
import type { Limits } from "../../src/budget/budget-limits.ts";
import type { SliceRequest } from "../../src/budget/run-budget.ts";
import type { SliceReturnJob } from "../../src/budget/settlement.ts";

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

  answer(runId: string, r: SliceRequest, at: number): NewEvent {
    const answers = r.scopes.map((sc) => {
      let l = this.ledger(sc.name);
      if (sc.replaces) l = close(l, { id: sc.replaces.sliceId, runId, actual: sc.replaces.actual, at }).state;
      const step = reserve(l, { id: r.sliceId, runId, amount: sc.want, min: sc.min, at, extraLimits: sc.limits });
      this.ledgers.set(sc.name, step.state);
      return { sc, outcome: step.outcome, day: step.state.totals[`day:${new Date(at).toISOString().slice(0, 10)}`] };
    });
    const refused = answers.find((a) => a.outcome.kind === "refused");
    if (refused && refused.outcome.kind === "refused") {
      const f = refused.outcome.refusal;
      const sc = refused.sc;
      return { type: "budget.refused", data: { node: r.node, callId: r.callId, reservationId: r.reservationId, sliceId: r.sliceId, scope: sc.scope, name: sc.name, window: f.window, unit: f.unit, period: f.period, limit: f.limit, used: f.used, wouldAdd: f.wouldAdd, reason: `${sc.name} refused` } };
    }
    return {
      type: "budget.slice_granted",
      data: {
        sliceId: r.sliceId,
        scopes: answers.map(({ sc, outcome }) => {
          if (outcome.kind !== "granted") throw new Error(`slice ${r.sliceId} is closed in ${sc.name}`);
          return { name: sc.name, granted: outcome.reservation.amount, day: outcome.reservation.periods.day, month: outcome.reservation.periods.month, used: { usdMicros: 0, tokens: 0 } };
        }),
      },
    };
  }

  giveBack(job: SliceReturnJob, at: number): NewEvent {
    const step = close(this.ledger(job.name), { id: job.sliceId, runId: job.runId, actual: job.actual, at, release: job.release });
    this.ledgers.set(job.name, step.state);
    return { type: "budget.slice_returned", data: { sliceId: job.sliceId, name: job.name, outcome: job.release ? "released" : "settled", actual: job.release ? { usdMicros: 0, tokens: 0 } : job.actual } };
  }
}
