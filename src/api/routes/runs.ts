import { Hono } from "hono";
import { z } from "zod";
import { canonicalJson, sha256Hex } from "../../engine/canonical-json.ts";
import { requireRole, type AppEnv } from "../auth-middleware.ts";
import { readJson } from "../body.ts";
import { problem, problemResponse } from "../problem.ts";
import { registryStub, runStub } from "../stubs.ts";
import { newRunId, RUN_ID, runIdForKey } from "../run-ids.ts";
import { startRun } from "../start-run.ts";
import { recordRead } from "../audit-reads.ts";

export const runRoutes = new Hono<AppEnv>();

const STATUSES = ["running", "waiting", "paused", "needs_attention", "completed", "failed", "halted"] as const;
const startBody = z.strictObject({
  workflow: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}(@[1-9]\d*)?$/, 'must be "<id>" or "<id>@<version>"'),
  input: z.record(z.string(), z.unknown()).default({}),
});
const controlBody = z.strictObject({ reason: z.string().max(2000).optional() });
const resolveBody = z.strictObject({ action: z.enum(["retry", "fail", "complete"]), result: z.unknown().optional(), comment: z.string().max(2000).optional() });
runRoutes.post("/", requireRole("admin", "operator"), async (c) => {
  const body = await readJson(c, startBody);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  const key = c.req.header("idempotency-key");
  if (key !== undefined && (key.length < 1 || key.length > 255)) return problem(c, 400, "Bad Request", "Idempotency-Key must be 1-255 characters");
  const runId = key ? await runIdForKey(p.tenant, key) : newRunId();
  const requestHash = await sha256Hex(canonicalJson({ workflow: body.workflow, input: body.input }));
  const res = await startRun(c.env, { tenant: p.tenant, workflow: body.workflow, input: body.input, runId, actor: { sub: p.sub, roles: p.roles }, requestHash });
  if (!res.ok) return problemResponse(res.problem, c.req.path);
  return c.json(res.value.run, res.value.created ? 201 : 200, { location: `/v1/runs/${runId}` });
});

runRoutes.get("/", async (c) => {
  const q = z
    .object({ workflow: z.string().max(64).optional(), status: z.enum(STATUSES).optional(), cursor: z.string().max(512).optional(), limit: z.coerce.number().int().min(1).max(200).default(50) })
    .safeParse(c.req.query());
  if (!q.success) return problem(c, 400, "Bad Request", "invalid query", q.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })));
  const res = await registryStub(c.env, c.get("principal").tenant).listRuns(q.data);
  if (!res.ok) return problemResponse(res.problem, c.req.path);
  await recordRead(c, "runs", { query: c.req.query() });
  return c.json(res.value);
});

runRoutes.use("/:id/*", async (c, next) => {
  if (!RUN_ID.test(c.req.param("id") ?? "")) return problem(c, 404, "Not Found", "no such run");
  await next();
});

runRoutes.get("/:id", async (c) => {
  const id = c.req.param("id");
  if (!RUN_ID.test(id)) return problem(c, 404, "Not Found", "no such run");
  const res = await runStub(c.env, id).summary(c.get("principal").tenant);
  if (!res.ok) return problemResponse(res.problem, c.req.path);
  await recordRead(c, "run", { runId: id });
  return c.json(res.value);
});

runRoutes.get("/:id/events", async (c) => {
  const stub = runStub(c.env, c.req.param("id"));
  const tenant = c.get("principal").tenant;
  const first = await stub.events(tenant, 0, 500);
  if (!first.ok) return problemResponse(first.problem, c.req.path);
  await recordRead(c, "run_events", { runId: c.req.param("id") });
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      let page = first.value;
      for (;;) {
        for (const e of page) controller.enqueue(enc.encode(`${JSON.stringify({ seq: e.seq, type: e.type, at: e.at, data: e.data })}\n`));
        if (page.length < 500) break;
        const next = await stub.events(tenant, page[page.length - 1].seq, 500);
        if (!next.ok) break;
        page = next.value;
      }
      controller.close();
    },
  });
  return new Response(stream, { headers: { "content-type": "application/x-ndjson; charset=utf-8" } });
});

for (const action of ["pause", "resume", "halt"] as const) {
  runRoutes.post(`/:id/${action}`, requireRole("admin", "operator"), async (c) => {
    const body = await readJson(c, controlBody, true);
    if (body instanceof Response) return body;
    const p = c.get("principal");
    const res = await runStub(c.env, c.req.param("id")).control(p.tenant, action, { sub: p.sub, roles: p.roles }, body.reason);
    if (!res.ok) return problemResponse(res.problem, c.req.path);
    return c.json(res.value);
  });
}

runRoutes.post("/:id/resolve", requireRole("admin", "operator"), async (c) => {
  const body = await readJson(c, resolveBody);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  const res = await runStub(c.env, c.req.param("id")).resolve(p.tenant, { sub: p.sub, roles: p.roles }, body.action, body.result, body.comment);
  if (!res.ok) return problemResponse(res.problem, c.req.path);
  return c.json(res.value);
});

