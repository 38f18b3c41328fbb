/**
 * Outbox jobs a run's budget changes cause, written in the transaction of the events that
 * cause them: the return of each slice the run just retired (settled at what it lent, the rest
 * released), and a breach notice when a budget or a per-run limit halts the run. Pure.
 */
import type { RunEvent } from "../engine/events.ts";
import type { RunState } from "../engine/run-state.ts";
import type { BreachFacts } from "./breach-notice.ts";
import type { Amount } from "./money.ts";
import { newlyReturning } from "./run-budget.ts";

/** A slice going back to the tenant's Budget object, every scope of it at once: each settled at `actual`, or released when the run took nothing from it. */
export interface SliceReturnJob {
  sliceId: string;
  runId: string;
  scopes: Array<{ name: string; actual: Amount; release: boolean }>;
}

export function sliceReturnJobs(prev: RunState, next: RunState): SliceReturnJob[] {
  const bySlice = new Map<string, SliceReturnJob>();
  for (const r of newlyReturning(prev.budget, next.budget)) {
    let job = bySlice.get(r.sliceId);
    if (!job) bySlice.set(r.sliceId, (job = { sliceId: r.sliceId, runId: next.runId, scopes: [] }));
    job.scopes.push({ name: r.name, actual: r.actual, release: r.actual.usdMicros <= 0 && r.actual.tokens <= 0 });
  }
  return [...bySlice.values()];
}

/** The breach an event records, if it halts the run for a budget or a limit. */
export function breachFacts(s: RunState, e: RunEvent): BreachFacts | null {
  const base = { tenant: s.tenant, runId: s.runId, workflow: s.workflow.id, at: e.at };
  if (e.type === "budget.refused") return { ...base, node: e.data.node, cause: "budget", which: `${e.data.name} ${e.data.window} ${e.data.unit}`, reason: e.data.reason };
  if (e.type === "run.limit_reached") return { ...base, node: e.data.node, cause: e.data.limit === "usd" || e.data.limit === "tokens" ? "budget" : "limit", which: `run ${e.data.limit}`, reason: e.data.reason };
  return null;
}
