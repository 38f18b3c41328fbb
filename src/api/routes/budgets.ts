/**
 * Budgets over the API: limits (USD and tokens, per run and per UTC day and month) and usage of
 * the tenant's budget, of a workflow's, and of one run.
 *
 *   GET|PUT /v1/budgets/tenant
 *   GET|PUT /v1/budgets/workflows/:workflowId
 *   GET|PUT /v1/budgets/runs/:runId        (per-run cap only)
 *
 * Changing a budget needs `admin`; reading needs `admin`, `operator` or `auditor`. A change is
 * recorded on the tenant's audit stream with the previous and new limits; reads are audited
 * like other reads. Limits set here merge most-restrictively with those of policy documents.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { capSchema, limitsBodySchema, limitsFromBody, limitsToBody, capFromUsd } from "../../budget/budget-limits.ts";
import { breachNotifySchema } from "../../budget/breach-notice.ts";
import { tenantBudgetName, workflowBudgetName } from "../../budget/budget-scopes.ts";
import type { Amount } from "../../budget/money.ts";
import type { Totals } from "../../budget/ledger.ts";
import type { BudgetUsage } from "../../../durable-objects/budget.ts";
import { recordRead } from "../audit-reads.ts";
import { requireRole, type AppEnv } from "../auth-middleware.ts";
import { readJson } from "../body.ts";
import { problem, problemResponse } from "../problem.ts";
import { RUN_ID } from "../run-ids.ts";
import { budgetStub, registryStub, runStub } from "../stubs.ts";

export const budgetRoutes = new Hono<AppEnv>();

const workflowId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/);
const scopeBody = limitsBodySchema.extend({ notify: breachNotifySchema.default({}) });
const runBody = z.strictObject({ perRun: capSchema });

const readers = requireRole("admin", "operator", "auditor");
const writers = requireRole("admin");

const usd = (micros: number) => micros / 1_000_000;
const amountView = (a: Amount) => ({ usd: usd(a.usdMicros), tokens: a.tokens });
const totalsView = (t: Totals) => ({ reserved: amountView(t.reserved), settled: amountView(t.settled), used: amountView({ usdMicros: t.reserved.usdMicros + t.settled.usdMicros, tokens: t.reserved.tokens + t.settled.tokens }) });

function scopeView(scope: "tenant" | "workflow", u: BudgetUsage) {
  return {
    scope,
    name: u.name,
    limits: limitsToBody(u.limits),
    notify: u.notify,
    version: u.version,
    updatedAt: u.updatedAt === null ? null : new Date(u.updatedAt).toISOString(),
    updatedBy: u.updatedBy,
    usage: { day: { period: u.day.period.slice(4), ...totalsView(u.day.used) }, month: { period: u.month.period.slice(6), ...totalsView(u.month.used) } },
    openReservations: u.open,
  };
}

async function getScope(c: Context<AppEnv>, scope: "tenant" | "workflow", name: string) {
  await recordRead(c, `budget.${scope}`, {});
  const r = await budgetStub(c.env, name).usage(name);
  return r.ok ? c.json(scopeView(scope, r.value)) : problemResponse(r.problem, c.req.path);
}

async function putScope(c: Context<AppEnv>, scope: "tenant" | "workflow", name: string, workflow?: string) {
  const body = await readJson(c, scopeBody);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  const r = await budgetStub(c.env, name).setLimits(name, limitsFromBody(body), body.notify, p.sub);
  if (!r.ok) return problemResponse(r.problem, c.req.path);
  await registryStub(c.env, p.tenant).recordAudit([
    { type: "budget.limits_changed", actor: { sub: p.sub, roles: p.roles }, ...(workflow ? { workflow: { id: workflow, version: null, hash: null } } : {}), payload: { scope, name, previous: limitsToBody(r.value.previous.limits), limits: limitsToBody(r.value.current.limits), notify: body.notify, version: r.value.current.version } },
  ]);
  const u = await budgetStub(c.env, name).usage(name);
  return u.ok ? c.json(scopeView(scope, u.value)) : problemResponse(u.problem, c.req.path);
}

function workflowName(c: Context<AppEnv>): string | Response {
  const id = workflowId.safeParse(c.req.param("workflowId"));
  return id.success ? workflowBudgetName(c.get("principal").tenant, id.data) : problem(c, 404, "Not Found", "no such workflow budget");
}

budgetRoutes.get("/tenant", readers, (c) => getScope(c, "tenant", tenantBudgetName(c.get("principal").tenant)));
budgetRoutes.put("/tenant", writers, (c) => putScope(c, "tenant", tenantBudgetName(c.get("principal").tenant)));

budgetRoutes.get("/workflows/:workflowId", readers, (c) => {
  const name = workflowName(c);
  return typeof name === "string" ? getScope(c, "workflow", name) : name;
});
budgetRoutes.put("/workflows/:workflowId", writers, (c) => {
  const name = workflowName(c);
  return typeof name === "string" ? putScope(c, "workflow", name, c.req.param("workflowId")) : name;
});

budgetRoutes.get("/runs/:runId", readers, async (c) => {
  const id = c.req.param("runId");
  if (!RUN_ID.test(id)) return problem(c, 404, "Not Found", "no such run");
  const p = c.get("principal");
  await recordRead(c, "budget.run", { runId: id });
  const r = await runStub(c.env, id).budget(p.tenant);
  if (!r.ok) return problemResponse(r.problem, c.req.path);
  const b = r.value;
  return c.json({
    scope: "run",
    runId: id,
    status: b.status,
    halt: b.halt,
    limits: b.cap ? { perRun: { ...(b.cap.usdMicros !== undefined ? { usd: usd(b.cap.usdMicros) } : {}), ...(b.cap.tokens !== undefined ? { tokens: b.cap.tokens } : {}) } } : {},
    spent: amountView(b.spent),
    openReservations: b.open.map((o) => ({ reservationId: o.reservationId, callId: o.callId, status: o.status, worstCase: amountView(o.estimate), settling: o.closing ? { release: o.closing.release, actual: amountView(o.closing.actual) } : null })),
    slices: b.slices.map((sl) => ({ sliceId: sl.sliceId, budget: sl.name, granted: amountView(sl.granted), used: amountView(sl.used), day: sl.day.slice(4) })),
  });
});

budgetRoutes.put("/runs/:runId", writers, async (c) => {
  const id = c.req.param("runId");
  if (!RUN_ID.test(id)) return problem(c, 404, "Not Found", "no such run");
  const body = await readJson(c, runBody);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  const cap = capFromUsd(body.perRun) ?? {};
  const r = await runStub(c.env, id).setBudget(p.tenant, cap, { sub: p.sub, roles: p.roles });
  if (!r.ok) return problemResponse(r.problem, c.req.path);
  await registryStub(c.env, p.tenant).recordAudit([{ type: "budget.limits_changed", actor: { sub: p.sub, roles: p.roles }, runId: id, payload: { scope: "run", runId: id, limits: { perRun: body.perRun } } }]);
  return c.json({ scope: "run", runId: id, limits: { perRun: body.perRun }, status: r.value.status });
});
