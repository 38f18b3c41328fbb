/**
 * The run's side of talking to the shared budgets (imperative shell): reserve a call's worst
 * case against every scope at once (a refusal releases the grants of the others), settle or
 * release a reservation everywhere, and prepare a breach notice. Each returns the event the run
 * records; nothing here writes to the run's storage.
 */
import { budgetStub, registryStub } from "../api/stubs.ts";
import type { NewEvent } from "../engine/events.ts";
import { breachEmail, breachWebhookBody, type BreachFacts, type BreachNotify } from "./breach-notice.ts";
import { tenantBudgetName } from "./budget-scopes.ts";
import { formatUsd } from "./money.ts";
import type { OpenReservation } from "./run-budget.ts";
import type { SettleJob } from "./settlement.ts";
import type { OutgoingEmail } from "../notifications/email-sender.ts";

export const BUDGET_RETRY_BASE_MS = 500;
export const BUDGET_RETRY_MAX_MS = 60_000;

/** Backoff before the n-th retry of an unreachable budget (0.5 s, 1 s, 2 s … at most a minute). */
export function budgetRetryDelay(unavailable: number): number {
  return Math.min(BUDGET_RETRY_MAX_MS, BUDGET_RETRY_BASE_MS * 2 ** Math.max(0, unavailable));
}

const describe = (unit: "usd" | "tokens", n: number) => (unit === "usd" ? formatUsd(n) : `${n} tokens`);

/**
 * Reserves `r` in every scope concurrently. All granted: `budget.reserved`. One refused:
 * the others' grants are released and `budget.refused` says which budget, what it has used and
 * what the call would have cost. One unreachable (and none refused): `budget.unavailable`; the
 * grants stay (a retry is idempotent by reservation id) and the run spends nothing meanwhile.
 */
export async function reserveEverywhere(env: Env, runId: string, r: OpenReservation, now: () => number): Promise<NewEvent> {
  const amount = { usdMicros: r.estimate.usdMicros, tokens: r.estimate.tokens };
  const answers = await Promise.allSettled(r.scopes.map((sc) => budgetStub(env, sc.name).reserve({ name: sc.name, id: r.reservationId, runId, amount, extraLimits: sc.limits })));
  const refusedAt = answers.findIndex((a) => a.status === "fulfilled" && a.value.ok && a.value.value.kind === "refused");
  if (refusedAt >= 0) {
    await Promise.allSettled(r.scopes.map((sc, i) => (i === refusedAt ? null : budgetStub(env, sc.name).release({ name: sc.name, id: r.reservationId, runId }))));
    const a = answers[refusedAt] as PromiseFulfilledResult<Awaited<ReturnType<ReturnType<typeof budgetStub>["reserve"]>>>;
    const o = a.value.ok ? a.value.value : null;
    if (!o || o.kind !== "refused") throw new Error("unreachable");
    const f = o.refusal;
    const sc = r.scopes[refusedAt];
    const windowName = f.window === "run" ? "per-run" : f.window === "day" ? `daily (${f.period.slice(4)} UTC)` : `monthly (${f.period.slice(6)} UTC)`;
    const reason = `the ${sc.scope} budget ${sc.name} (${windowName}, ${describe(f.unit, f.limit)}) has ${describe(f.unit, f.used)} used or reserved; the next model call could cost up to ${describe(f.unit, f.wouldAdd)}`;
    return { type: "budget.refused", data: { node: r.node, callId: r.callId, reservationId: r.reservationId, scope: sc.scope, name: sc.name, window: f.window, unit: f.unit, period: f.period, limit: f.limit, used: f.used, wouldAdd: f.wouldAdd, reason } };
  }
  const failed = answers.find((a) => a.status === "rejected" || !a.value.ok || a.value.value.kind !== "granted");
  if (failed) {
    const error = failed.status === "rejected" ? String((failed.reason as Error)?.message ?? failed.reason) : !failed.value.ok ? `${failed.value.problem.title}: ${failed.value.problem.detail}` : `reservation ${r.reservationId} is already closed`;
    return { type: "budget.unavailable", data: { reservationId: r.reservationId, error: error.slice(0, 500), attempt: r.unavailable + 1, retryAt: now() + budgetRetryDelay(r.unavailable) } };
  }
  const scopes = answers.map((a, i) => {
    const v = (a as PromiseFulfilledResult<Awaited<ReturnType<ReturnType<typeof budgetStub>["reserve"]>>>).value;
    const used = v.ok ? v.value.used : { reserved: { usdMicros: 0, tokens: 0 }, settled: { usdMicros: 0, tokens: 0 } };
    return { name: r.scopes[i].name, used: { usdMicros: used.reserved.usdMicros + used.settled.usdMicros, tokens: used.reserved.tokens + used.settled.tokens } };
  });
  return { type: "budget.reserved", data: { reservationId: r.reservationId, scopes } };
}

/** Settles (or releases) a reservation in every scope; throws if any scope did not acknowledge (the outbox retries: settlement is idempotent). */
export async function settleEverywhere(env: Env, job: SettleJob): Promise<NewEvent> {
  await Promise.all(
    job.scopes.map(async (name) => {
      const stub = budgetStub(env, name);
      const r = job.release ? await stub.release({ name, id: job.reservationId, runId: job.runId }) : await stub.settle({ name, id: job.reservationId, runId: job.runId, actual: job.actual });
      if (!r.ok) throw new Error(`budget ${name}: ${r.problem.detail}`);
    }),
  );
  return { type: "budget.settled", data: { reservationId: job.reservationId, outcome: job.release ? "released" : "settled", actual: job.release ? { usdMicros: 0, tokens: 0 } : job.actual, scopes: job.scopes } };
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
