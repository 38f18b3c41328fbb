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
import { parseEvent, type RunEvent } from "../../engine/events.ts";
import { replay, ReplayError } from "../../engine/replay.ts";
import { auditStore } from "../../audit/audit-store.ts";
import { evidenceReport, type EvidenceInput } from "../../audit/evidence.ts";
import { evidencePage } from "../../audit/evidence-page.ts";
import { runStream, tenantStream } from "../../audit/run-audit.ts";
import { publicKeySet } from "../../audit/seal.ts";
import { verifyAudit } from "../../audit/verify.ts";

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

/** `?wait=S`: answer once the run has settled (ended, needs attention, paused, or waits for a person), or after S seconds. */
const summaryQuery = z.object({
  wait: z
    .string()
    .regex(/^\d{1,2}(\.\d{1,3})?$/)
    .transform(Number)
    .pipe(z.number().max(60))
    .optional(),
});

runRoutes.get("/:id", async (c) => {
  const id = c.req.param("id");
  if (!RUN_ID.test(id)) return problem(c, 404, "Not Found", "no such run");
  const q = summaryQuery.safeParse(c.req.query());
  if (!q.success) return problem(c, 400, "Bad Request", "invalid query: wait is a number of seconds from 0 to 60", q.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })));
  const tenant = c.get("principal").tenant;
  const waitMs = Math.round((q.data.wait ?? 0) * 1000);
  let res;
  try {
    res = await runStub(c.env, id).summary(tenant, waitMs);
  } catch (err) {
    // The run's object was reset while the request waited on it (an eviction, a deploy): a read is
    // safe to ask again, once, of the object's next instance, without waiting.
    if (!waitMs) throw err;
    res = await runStub(c.env, id).summary(tenant, 0);
  }
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

/**
 * The evidence report (auditor, admin): the five audit questions for this run, answered from its
 * audit trail, with the chain and seals verified and the run replayed through the interpreter.
 * HTML when asked for (Accept: text/html or ?format=html), JSON otherwise.
 */
runRoutes.get("/:id/evidence", requireRole("auditor", "admin"), async (c) => {
  const id = c.req.param("id");
  const tenant = c.get("principal").tenant;
  const stub = runStub(c.env, id);
  const summary = await stub.summary(tenant);
  if (!summary.ok) return problemResponse(summary.problem, c.req.path);
  const log: RunEvent[] = [];
  for (let after = 0; ; ) {
    const page = await stub.events(tenant, after, 1000);
    if (!page.ok) return problemResponse(page.problem, c.req.path);
    log.push(...page.value.map((e) => parseEvent(e, `event ${e.seq}`)));
    if (page.value.length < 1000) break;
    after = page.value[page.value.length - 1].seq;
  }
  const store = auditStore(c.env);
  const stream = runStream(id);
  let gathered: Omit<EvidenceInput, "run" | "replay" | "integrity" | "generatedAt"> & { keys: Awaited<ReturnType<typeof publicKeySet>>["keys"] };
  try {
    const trail = [];
    for (let after = 0; ; ) {
      const page = await store.streamEntries(tenant, stream, after, 5000);
      trail.push(...page);
      if (page.length < 5000) break;
      after = page[page.length - 1].seq;
    }
    const [seals, purges, holds, reads, keys] = await Promise.all([store.seals(tenant, stream), store.purges(tenant, stream), store.holds(tenant), store.entries({ tenant, stream: tenantStream(tenant), run: id, type: "read.*", limit: 1000 }), publicKeySet(c.env.AUDIT_SIGNING_KEY)]);
    const covering = holds.filter((h) => h.scope === "tenant" || (h.scope === "run" && h.scopeId === id) || (h.scope === "workflow" && h.scopeId === summary.value.workflow.id));
    gathered = { trail, seals, purges, holds: covering, reads, keys: keys.keys };
  } catch (err) {
    return problem(c, 503, "Audit store unavailable", `the audit database could not be read: ${(err as Error).message}`);
  }
  const verified = await verifyAudit({ entries: gathered.trail, seals: gathered.seals, purges: gathered.purges, publicKeys: gathered.keys });
  const backlog = await stub.auditBacklog();
  let replayed: EvidenceInput["replay"];
  try {
    replayed = replay(log);
  } catch (err) {
    replayed = { ok: false, message: err instanceof ReplayError ? err.message : `replay failed: ${(err as Error).message}` };
  }
  await recordRead(c, "evidence", { runId: id });
  const report = evidenceReport({
    run: summary.value,
    trail: gathered.trail,
    seals: gathered.seals,
    purges: gathered.purges,
    holds: gathered.holds,
    reads: gathered.reads,
    replay: replayed,
    integrity: { ok: verified.ok, entries: verified.entries, seals: verified.seals, purges: verified.purges, problems: verified.problems, pendingShipment: backlog.pending },
    generatedAt: Date.now(),
  });
  const wantsHtml = c.req.query("format") === "html" || (c.req.query("format") !== "json" && (c.req.header("accept") ?? "").includes("text/html"));
  return wantsHtml ? c.html(evidencePage(report)) : c.json(report);
});
