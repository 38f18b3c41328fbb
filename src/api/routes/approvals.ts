/**
 * The approver's side of the API: the inbox (what the caller may decide), one approval,
 * decisions, and the operator's reassign and cancel. Who may decide is checked by the run's
 * object against its event log; the tenant directory supplies the caller's business roles.
 */
import { Hono } from "hono";
import { z } from "zod";
import { runOfApproval } from "../approval-ids.ts";
import { requireRole, type AppEnv } from "../auth-middleware.ts";
import { readJson } from "../body.ts";
import { problem, problemResponse } from "../problem.ts";
import { registryStub, runStub } from "../stubs.ts";

export const approvalRoutes = new Hono<AppEnv>();

const approverSet = z.strictObject({ users: z.array(z.string().min(1).max(254)).default([]), roles: z.array(z.string().min(1).max(64)).default([]) }).refine((s) => s.users.length + s.roles.length > 0, "must name at least one user or role");
const decisionBody = z.strictObject({ decision: z.enum(["approve", "reject"]), comment: z.string().max(2000).optional() });
const reassignBody = z.strictObject({ to: approverSet, reason: z.string().max(2000).optional() });
const cancelBody = z.strictObject({ reason: z.string().max(2000).optional() });

approvalRoutes.get("/", async (c) => {
  const q = z.object({ status: z.enum(["pending", "approved", "rejected", "expired", "cancelled"]).optional(), all: z.enum(["true", "false"]).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }).safeParse(c.req.query());
  if (!q.success) return problem(c, 400, "Bad Request", "invalid query", q.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })));
  const p = c.get("principal");
  const registry = registryStub(c.env, p.tenant);
  const seeAll = q.data.all === "true" && p.roles.some((r) => r === "admin" || r === "auditor");
  const who = seeAll ? undefined : { sub: p.sub, roles: await registry.rolesOf(p.sub) };
  const items = await registry.listApprovals({ status: q.data.status, who, limit: q.data.limit });
  return c.json({ items, next: null });
});

approvalRoutes.use("/:id/*", async (c, next) => {
  if (!runOfApproval(c.req.param("id") ?? "")) return problem(c, 404, "Not Found", "no such approval");
  await next();
});

approvalRoutes.get("/:id", async (c) => {
  const id = c.req.param("id");
  const run = runOfApproval(id);
  if (!run) return problem(c, 404, "Not Found", "no such approval");
  const res = await runStub(c.env, run).approval(c.get("principal").tenant, id);
  if (!res.ok) return problemResponse(res.problem, c.req.path);
  return c.json(res.value);
});

approvalRoutes.post("/:id/decision", requireRole("approver", "admin"), async (c) => {
  const body = await readJson(c, decisionBody);
  if (body instanceof Response) return body;
  const id = c.req.param("id");
  const p = c.get("principal");
  const roles = await registryStub(c.env, p.tenant).rolesOf(p.sub);
  const via = c.req.header("x-warden-client") === "cli" ? "cli" : "api";
  const res = await runStub(c.env, runOfApproval(id)!).decideApproval({ tenant: p.tenant, approvalId: id, who: { sub: p.sub, roles }, decision: body.decision, ...(body.comment ? { comment: body.comment } : {}), via });
  if (!res.ok) return problemResponse(res.problem, c.req.path);
  return c.json(res.value);
});

approvalRoutes.post("/:id/reassign", requireRole("operator", "admin"), async (c) => {
  const body = await readJson(c, reassignBody);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  const id = c.req.param("id");
  const res = await runStub(c.env, runOfApproval(id)!).reassignApproval(p.tenant, id, { sub: p.sub, roles: p.roles }, body.to, body.reason);
  if (!res.ok) return problemResponse(res.problem, c.req.path);
  return c.json(res.value);
});

approvalRoutes.post("/:id/cancel", requireRole("operator", "admin"), async (c) => {
  const body = await readJson(c, cancelBody, true);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  const id = c.req.param("id");
  const res = await runStub(c.env, runOfApproval(id)!).cancelApproval(p.tenant, id, { sub: p.sub, roles: p.roles }, body.reason);
  if (!res.ok) return problemResponse(res.problem, c.req.path);
  return c.json(res.value);
});
