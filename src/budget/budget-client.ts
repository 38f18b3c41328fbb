/**
 * The run's side of talking to the shared budgets (imperative shell): ask for the slices of
 * every scope at once, return a slice, and prepare a breach notice. Each returns the event the run
 * records; nothing here writes to the run's storage.
 */
import { budgetStub, registryStub } from "../api/stubs.ts";
import type { NewEvent } from "../engine/events.ts";
import { breachEmail, breachWebhookBody, type BreachFacts, type BreachNotify } from "./breach-notice.ts";
import { tenantBudgetName } from "./budget-scopes.ts";
import { sliceAnswerEvent, sliceAsks, sliceUnavailable } from "./slice-answer.ts";
import type { SliceRequest } from "./run-budget.ts";
import type { SliceReturnJob } from "./settlement.ts";
import type { OutgoingEmail } from "../notifications/email-sender.ts";

/**
 * Asks the tenant's Budget object for the slices of every scope of `r` at once (all granted or
 * none; each also settles the slice it replaces) and returns the event recording its answer
 * (src/budget/slice-answer.ts); `budget.unavailable` if it cannot be reached. A retry is
 * idempotent by slice id, and the run spends nothing meanwhile.
 */
export async function requestSlices(env: Env, runId: string, r: SliceRequest, now: () => number): Promise<NewEvent> {
  try {
    const res = await budgetStub(env, r.scopes[0].name).reserveSlices({ id: r.sliceId, runId, scopes: sliceAsks(r) });
    return res.ok ? sliceAnswerEvent(r, res.value, now()) : sliceUnavailable(r, `${res.problem.title}: ${res.problem.detail}`, now());
  } catch (err) {
    return sliceUnavailable(r, String((err as Error)?.message ?? err), now());
  }
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
