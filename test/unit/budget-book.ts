/**
 * The shared budgets for pure tests: one ledger per budget name, answered with the real ledger
 * rules (src/budget/ledger.ts) the way the tenant's Budget Durable Object combines them (in
 * each scope settle the replaced slice, then grant between `min` and `want`; all scopes or
 * none). No I/O.
 */
import type { NewEvent } from "../../src/engine/events.ts";
import { close, reserveSlices, type LedgerState, type Totals } from "../../src/budget/ledger.ts";
import type { Limits } from "../../src/budget/budget-limits.ts";
import type { SliceRequest } from "../../src/budget/run-budget.ts";
import type { SliceReturnJob } from "../../src/budget/settlement.ts";
import { sliceAnswerEvent, sliceAsks } from "../../src/budget/slice-answer.ts";

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

  /** The tenant's Budget object answering a slice request (the ledger's `reserveSlices`), as the event the run records. */
  answer(runId: string, r: SliceRequest, at: number): NewEvent {
    const step = reserveSlices((name) => this.ledger(name), { id: r.sliceId, runId, scopes: sliceAsks(r), at });
    for (const w of step.writes) this.ledgers.set(w.name, w.state);
    return sliceAnswerEvent(r, step.answer, at);
  }

  giveBack(job: SliceReturnJob, at: number): NewEvent[] {
    return job.scopes.map((sc) => {
      const step = close(this.ledger(sc.name), { id: job.sliceId, runId: job.runId, actual: sc.actual, at, release: sc.release });
      this.ledgers.set(sc.name, step.state);
      return { type: "budget.slice_returned", data: { sliceId: job.sliceId, name: sc.name, outcome: sc.release ? "released" : "settled", actual: sc.release ? { usdMicros: 0, tokens: 0 } : sc.actual } };
    });
  }
}
