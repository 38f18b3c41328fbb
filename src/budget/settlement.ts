/**
 * Outbox jobs a run's budget changes cause, written in the transaction of the events that
 * cause them: a settlement (or release) for each reservation whose outcome was just decided,
 * and a breach notice when a budget or a per-run limit halts the run. Pure.
 */
import type { RunEvent } from "../engine/events.ts";
import type { RunState } from "../engine/run-state.ts";
import type { BreachFacts } from "./breach-notice.ts";
import type { Amount } from "./money.ts";
import { newlyClosing } from "./run-budget.ts";

export interface SettleJob {
  reservationId: string;
  runId: string;
  scopes: string[];
  actual: Amount;
  release: boolean;
}

export function settleJobs(prev: RunState, next: RunState): SettleJob[] {
  return newlyClosing(prev.budget, next.budget).map((r) => ({ reservationId: r.reservationId, runId: next.runId, scopes: r.scopes.map((x) => x.name), actual: r.closing!.actual, release: r.closing!.release }));
}

/** The breach an event records, if it halts the run for a budget or a limit. */
export function breachFacts(s: RunState, e: RunEvent): BreachFacts | null {
  const base = { tenant: s.tenant, runId: s.runId, workflow: s.workflow.id, at: e.at };
  if (e.type === "budget.refused") return { ...base, node: e.data.node, cause: "budget", which: `${e.data.name} ${e.data.window} ${e.data.unit}`, reason: e.data.reason };
  if (e.type === "run.limit_reached") return { ...base, node: e.data.node, cause: e.data.limit === "usd" || e.data.limit === "tokens" ? "budget" : "limit", which: `run ${e.data.limit}`, reason: e.data.reason };
  return null;
}
