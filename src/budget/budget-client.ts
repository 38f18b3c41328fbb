/**
 * The run's side of talking to the shared budgets (imperative shell): ask for the slices of
 * every scope at once, return a slice, and prepare a breach notice. Each returns the event the run
 * records; nothing here writes to the run's storage.
 */
import { budgetStub, registryStub } from "../api/stubs.ts";
import type { NewEvent } from "../engine/events.ts";
import { breachEmail, breachWebhookBody, type BreachFacts, type BreachNotify } from "./breach-notice.ts";
import { tenantBudgetName } from "./budget-scopes.ts";
import { formatUsd } from "./money.ts";
import type { SliceRequest } from "./run-budget.ts";
import type { SliceReturnJob } from "./settlement.ts";
import type { OutgoingEmail } from "../notifications/email-sender.ts";

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

const describe = (unit: "usd" | "tokens", n: number) => (unit === "usd" ? formatUsd(n) : `${n} tokens`);

/**
 * Asks the tenant's Budget object for the slices of every scope of `r` at once (all granted
 * or none; each also settles the slice it replaces). Granted: `budget.slice_granted`. No room
 * yet, but there would be once slices other runs hold go back: `budget.deferred`, and the run
 * asks again after a backoff (BUDGET_WAITS times, then it takes the answer). Refused:
 * `budget.refused` says which budget, what it has used and what the call would have cost.
 * Unreachable: `budget.unavailable`; a retry is idempotent by slice id, and the run spends
 * nothing meanwhile.
 */
export async function requestSlices(env: Env, runId: string, r: SliceRequest, now: () => number): Promise<NewEvent> {
  const wait = r.deferred < BUDGET_WAITS; // the last ask takes a refusal
  const scopes = r.scopes.map((sc) => ({ name: sc.name, amount: sc.want, min: sc.min, extraLimits: sc.limits, wait, ...(sc.replaces ? { replaces: { id: sc.replaces.sliceId, actual: sc.replaces.actual } } : {}) }));
  let error: string;
  try {
    const res = await budgetStub(env, r.scopes[0].name).reserveSlices({ id: r.sliceId, runId, scopes });
    if (res.ok && res.value.kind === "refused") {
      const { name, refusal: f } = res.value;
      const sc = r.scopes.find((x) => x.name === name)!;
      const windowName = f.window === "run" ? "per-run" : f.window === "day" ? `daily (${f.period.slice(4)} UTC)` : `monthly (${f.period.slice(6)} UTC)`;
      const reason = `the ${sc.scope} budget ${sc.name} (${windowName}, ${describe(f.unit, f.limit)}) has ${describe(f.unit, f.used)} used or reserved; the next model call could cost up to ${describe(f.unit, f.wouldAdd)}`;
      return { type: "budget.refused", data: { node: r.node, callId: r.callId, reservationId: r.reservationId, sliceId: r.sliceId, scope: sc.scope, name: sc.name, window: f.window, unit: f.unit, period: f.period, limit: f.limit, used: f.used, wouldAdd: f.wouldAdd, reason } };
    }
    if (res.ok && res.value.kind === "busy") {
      const f = res.value.refusal;
      return { type: "budget.deferred", data: { sliceId: r.sliceId, name: res.value.name, window: f.window, unit: f.unit, limit: f.limit, used: f.used, wouldAdd: f.wouldAdd, attempt: r.deferred + 1, retryAt: now() + budgetWaitDelay(r.deferred) } };
    }
    if (res.ok && res.value.kind === "granted") {
      return {
        type: "budget.slice_granted",
        data: {
          sliceId: r.sliceId,
          scopes: res.value.scopes.map(({ name, reservation, used }) => ({ name, granted: reservation.amount, day: reservation.periods.day, month: reservation.periods.month, used: { usdMicros: used.reserved.usdMicros + used.settled.usdMicros, tokens: used.reserved.tokens + used.settled.tokens } })),
        },
      };
    }
    error = !res.ok ? `${res.problem.title}: ${res.problem.detail}` : res.value.kind === "closed" ? `slice ${r.sliceId} is already closed in ${res.value.name}` : "unexpected answer";
  } catch (err) {
    error = String((err as Error)?.message ?? err);
  }
  return { type: "budget.unavailable", data: { sliceId: r.sliceId, error: error.slice(0, 500), attempt: r.unavailable + 1, retryAt: now() + budgetRetryDelay(r.unavailable) } };
}

/** Returns a slice to the tenant's Budget object (each scope settled at what the run spent from it, or released); throws unless acknowledged (the outbox retries: it is idempotent). */
export async function returnSlice(env: Env, job: SliceReturnJob): Promise<NewEvent[]> {
  const r = await budgetStub(env, job.scopes[0].name).returnSlices({ id: job.sliceId, runId: job.runId, scopes: job.scopes });
  if (!r.ok) throw new Error(`budget ${job.scopes[0].name}: ${r.problem.detail}`);
  return job.scopes.map((sc) => ({ type: "budget.slice_returned", data: { sliceId: job.sliceId, name: sc.name, outcome: sc.release ? "released" : "settled", actual: sc.release ? { usdMicros: 0, tokens: 0 } : sc.actual } }));
}

/** Who hears of a breach: the tenant budget's `notify` (else the directory's users holding the role budget-owner or admin), and its webhook. */
export async function prepareBreachNotice(env: Env, f: BreachFacts): Promise<{ emails: OutgoingEmail[]; webhook: { url: string; body: ReturnType<typeof breachWebhookBody> } | null }> {
  const name = tenantBudgetName(f.tenant);
  const usage = await budgetStub(env, name).usage(name);
  const notify: BreachNotify = usage.ok ? usage.value.notify : {};
  let to = notify.emails ?? [];
  if (!to.length) {
    const directory = await registryStub(env, f.tenant).directory();
    to = directory.filter((u) => u.email && u.roles.some((r) => r === "budget-owner" || r === "admin")).map((u) => u.email!);
  }
  const base = env.PUBLIC_URL || "http://127.0.0.1:8787";
  return { emails: to.map((addr) => breachEmail(addr, f, base)), webhook: notify.webhookUrl ? { url: notify.webhookUrl, body: breachWebhookBody(f) } : null };
}
