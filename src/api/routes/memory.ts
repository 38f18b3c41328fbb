/**
 * Agent memory over the API: what a scope holds now or held at any instant (`as_of`), the
 * tenant's conflicts, a person's facts, resolutions, retractions and the right to erasure.
 * Every scope lives in the caller's tenant (the object is named `<tenant>:<scope>`), so a tenant
 * never reaches another's memory. Reads are audited like other reads; acts are recorded on the
 * tenant's audit stream after the memory committed them.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { factInputSchema, memoryName, resolveRequestSchema, type ConflictRecord, type FactRecord } from "../../memory/fact-model.ts";
import type { MemoryConflictView } from "../../memory/conflict-view.ts";
import { recordRead } from "../audit-reads.ts";
import { requireRole, type AppEnv } from "../auth-middleware.ts";
import { readJson } from "../body.ts";
import { problem, problemResponse } from "../problem.ts";
import { timed } from "../server-timing.ts";
import { memoryStub, registryStub } from "../stubs.ts";

export const memoryRoutes = new Hono<AppEnv>();

const isoTime = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
const readQuery = z.object({
  as_of: isoTime.optional(),
  valid_at: z.union([isoTime, z.literal("any")]).optional(),
  subject: memoryName.optional(),
  attribute: z.string().optional(),
});
const conflictsQuery = z.object({ scope: memoryName.optional(), status: z.enum(["open", "resolved", "all"]).default("open"), limit: z.coerce.number().int().min(1).max(500).default(100) });
const factsBody = z.strictObject({
  facts: z
    .array(
      z.strictObject({
        subject: memoryName,
        attribute: memoryName,
        value: z.unknown(),
        sourceKind: z.enum(["user_input", "tool_result", "model_inference", "human"]).default("human"),
        confidence: z.number().min(0).max(1).default(1),
        validFrom: isoTime.optional(),
        validTo: isoTime.optional(),
        cardinality: z.enum(["one", "many"]).default("one"),
        freshForMs: z.number().int().positive().optional(),
        resolveRule: z.enum(["newer_human_supersedes"]).optional(),
        corrects: z.number().int().positive().optional(),
      }),
    )
    .min(1)
    .max(100),
});
const resolveBody = z.strictObject({
  resolution: z.enum(["keep_old", "accept_new", "both_with_validity"]),
  validity: z.strictObject({ existing: z.strictObject({ validFrom: isoTime, validTo: isoTime.nullable() }).optional(), proposed: z.strictObject({ validFrom: isoTime, validTo: isoTime.nullable() }).optional() }).optional(),
  note: z.string().max(2000).optional(),
});
const retractBody = z.strictObject({ reason: z.string().min(1).max(2000) });
const erasureBody = z.strictObject({ subject: memoryName, attribute: memoryName.optional(), reason: z.string().min(1).max(2000) });

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** Times as ISO 8601 for people and tools. */
function presentFact(f: FactRecord & { stale?: boolean }) {
  return { ...f, recordedAt: iso(f.recordedAt), retiredAt: iso(f.retiredAt), validFrom: iso(f.validFrom), validTo: iso(f.validTo) };
}

function presentConflict(c: ConflictRecord & Partial<MemoryConflictView>) {
  return { ...c, detectedAt: iso(c.detectedAt), resolvedAt: iso(c.resolvedAt), ...(c.existing ? { existing: presentFact(c.existing) } : {}), ...(c.proposed ? { proposed: presentFact(c.proposed) } : {}) };
}

function badQuery(c: Context, error: z.ZodError) {
  return problem(c, 400, "Bad Request", "invalid query", error.issues.map((i) => ({ path: i.path.join("."), message: i.message })));
}

function scopeOf(c: Context): string | Response {
  const scope = memoryName.safeParse(c.req.param("scope"));
  return scope.success ? scope.data : problem(c, 404, "Not Found", "no such memory scope");
}


memoryRoutes.get("/conflicts", async (c) => {
  const q = conflictsQuery.safeParse(c.req.query());
  if (!q.success) return badQuery(c, q.error);
  const p = c.get("principal");
  await recordRead(c, "memory.conflicts", { query: c.req.query() });
  if (q.data.scope) {
    const r = await memoryStub(c.env, p.tenant, q.data.scope).conflicts({ tenant: p.tenant, scope: q.data.scope, status: q.data.status, limit: q.data.limit });
    if (!r.ok) return problemResponse(r.problem, c.req.path);
    return c.json({ items: r.value.map(presentConflict), next: null });
  }
  const items = await registryStub(c.env, p.tenant).listMemoryConflicts({ ...(q.data.status !== "all" ? { status: q.data.status } : {}), limit: q.data.limit });
  return c.json({ items: items.map((e) => ({ ...e, detectedAt: iso(e.detectedAt), resolvedAt: iso(e.resolvedAt) })), next: null });
});

memoryRoutes.get("/:scope", async (c) => {
  const scope = scopeOf(c);
  if (scope instanceof Response) return scope;
  const q = readQuery.safeParse(c.req.query());
  if (!q.success) return badQuery(c, q.error);
  const p = c.get("principal");
  const attributes = q.data.attribute?.split(",").filter(Boolean);
  // the read is audited alongside it; nothing is returned unless both succeed
  const [, r] = await Promise.all([
    recordRead(c, "memory", { query: { scope, ...c.req.query() } }),
    timed(
      c,
      "memory",
      memoryStub(c.env, p.tenant, scope).read({
        tenant: p.tenant,
        scope,
        ...(q.data.subject ? { subject: q.data.subject } : {}),
        ...(attributes?.length ? { attributes } : {}),
        ...(q.data.as_of !== undefined ? { asOf: q.data.as_of } : {}),
        ...(q.data.valid_at !== undefined ? { validAt: q.data.valid_at === "any" ? null : q.data.valid_at } : {}),
      }),
    ),
  ]);
  if (!r.ok) return problemResponse(r.problem, c.req.path);
  const v = r.value;
  return c.json({ scope, readAt: iso(v.readAt), asOf: iso(v.asOf), validAt: iso(v.validAt), facts: v.facts.map(presentFact), contested: v.contested.map(presentFact) });
});

memoryRoutes.post("/:scope/facts", requireRole("operator", "admin"), async (c) => {
  const scope = scopeOf(c);
  if (scope instanceof Response) return scope;
  const body = await readJson(c, factsBody);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  const facts = body.facts.map((f) => factInputSchema.parse(f));
  const r = await timed(c, "memory", memoryStub(c.env, p.tenant, scope).write({ tenant: p.tenant, scope, facts, writer: { kind: "person", sub: p.sub } }));
  if (!r.ok) return problemResponse(r.problem, c.req.path);
  return c.json({ facts: r.value.facts.map(presentFact), retired: r.value.retired, conflicts: r.value.conflicts.map(presentConflict) }, 201);
});

memoryRoutes.post("/:scope/conflicts/:id/resolve", requireRole("approver", "operator", "admin"), async (c) => {
  const scope = scopeOf(c);
  if (scope instanceof Response) return scope;
  const id = Number(c.req.param("id"));
  if (!Number.isSafeInteger(id) || id < 1) return problem(c, 404, "Not Found", "no such conflict");
  const body = await readJson(c, resolveBody);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  const resolution = resolveRequestSchema.parse({ kind: body.resolution, ...(body.validity ? { validity: body.validity } : {}), ...(body.note ? { note: body.note } : {}) });
  const r = await memoryStub(c.env, p.tenant, scope).resolve({ tenant: p.tenant, scope, conflictId: id, resolution, by: p.sub });
  if (!r.ok) return problemResponse(r.problem, c.req.path);
  return c.json({ conflict: presentConflict(r.value.conflict), facts: r.value.facts.map(presentFact), retired: r.value.retired });
});

memoryRoutes.post("/:scope/facts/:id/retract", requireRole("operator", "admin"), async (c) => {
  const scope = scopeOf(c);
  if (scope instanceof Response) return scope;
  const id = Number(c.req.param("id"));
  if (!Number.isSafeInteger(id) || id < 1) return problem(c, 404, "Not Found", "no such fact");
  const body = await readJson(c, retractBody);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  const r = await memoryStub(c.env, p.tenant, scope).retract({ tenant: p.tenant, scope, factId: id, by: p.sub, reason: body.reason });
  if (!r.ok) return problemResponse(r.problem, c.req.path);
  return c.json(presentFact(r.value));
});

/** Right to erasure (admin): the values go, tombstones with provenance stay, and the act is audited. */
memoryRoutes.post("/:scope/erasure", requireRole("admin"), async (c) => {
  const scope = scopeOf(c);
  if (scope instanceof Response) return scope;
  const body = await readJson(c, erasureBody);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  const r = await memoryStub(c.env, p.tenant, scope).erase({ tenant: p.tenant, scope, subject: body.subject, ...(body.attribute ? { attribute: body.attribute } : {}), by: p.sub, reason: body.reason });
  if (!r.ok) return problemResponse(r.problem, c.req.path);
  return c.json({ erased: r.value.erased, tombstones: r.value.tombstones.map(presentFact) });
});
