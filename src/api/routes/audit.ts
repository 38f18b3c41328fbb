/**
 * The audit trail over HTTP: entries (auditor role, paginated, filtered), the JSONL export with
 * its seals and purge records, legal holds, and the public key that checks the seals.
 * Every read here is itself audited; a caller only ever sees its own tenant.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AuditEntry } from "../../audit/audit-entry.ts";
import { entryExportLine, type ExportLine } from "../../audit/audit-rows.ts";
import { auditStore, type EntryQuery } from "../../audit/audit-store.ts";
import { runStream } from "../../audit/run-audit.ts";
import { publicKeySet } from "../../audit/seal.ts";
import { recordRead } from "../audit-reads.ts";
import { requireRole, type AppEnv } from "../auth-middleware.ts";
import { readJson } from "../body.ts";
import { problem } from "../problem.ts";
import { GLOBAL_SCOPE_TENANT, registryStub } from "../stubs.ts";
import { decodeCursor } from "../../../durable-objects/tenant-registry.ts";

export const auditRoutes = new Hono<AppEnv>();
export const holdRoutes = new Hono<AppEnv>();
export const wellKnownRoutes = new Hono<AppEnv>();

const time = z
  .string()
  .max(40)
  .transform((v, ctx) => {
    const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(t)) {
      ctx.addIssue({ code: "custom", message: "must be an ISO 8601 time or milliseconds since the epoch" });
      return z.NEVER;
    }
    return t;
  });

const auditQuery = z.strictObject({
  run: z.string().min(1).max(128).optional(),
  tenant: z.string().min(1).max(128).optional(),
  stream: z.string().min(1).max(200).optional(),
  type: z.string().regex(/^[a-z0-9_.]+\*?$/, "must be an entry type, optionally ending in * (a prefix)").optional(),
  from: time.optional(),
  to: time.optional(),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/**
 * The query, and whose trail it reads: the caller's tenant, or — for the platform tenant's
 * auditors and admins only — the deployment's own trail (`tenant=__global__`: global policy changes).
 */
function parseQuery(c: Context<AppEnv>): (z.output<typeof auditQuery> & { tenant: string }) | Response {
  const q = auditQuery.safeParse(c.req.query());
  if (!q.success) return problem(c, 400, "Bad Request", "invalid query", q.error.issues.map((i) => ({ path: i.path.join(".") || "(query)", message: i.message })));
  const own = c.get("principal").tenant;
  const wanted = q.data.tenant ?? own;
  const platform = c.env.PLATFORM_TENANT || "platform";
  if (wanted !== own && !(wanted === GLOBAL_SCOPE_TENANT && own === platform)) return problem(c, 403, "Forbidden", `your token is for tenant ${own}; the audit trail of another tenant is not visible to it`);
  return { ...q.data, tenant: wanted };
}

function entryQuery(tenant: string, q: z.output<typeof auditQuery>, after?: EntryQuery["after"]): EntryQuery {
  return { tenant, run: q.run, stream: q.stream, type: q.type, from: q.from, to: q.to, after, limit: q.limit };
}

function unavailable(c: Context<AppEnv>, err: unknown): Response {
  return problem(c, 503, "Audit store unavailable", `the audit database could not be read: ${(err as Error).message}`);
}

auditRoutes.get("/", requireRole("auditor", "admin"), async (c) => {
  const q = parseQuery(c);
  if (q instanceof Response) return q;
  let after: EntryQuery["after"];
  if (q.cursor) {
    const parts = decodeCursor(q.cursor);
    if (!parts || parts.length !== 3) return problem(c, 400, "Bad Request", "cursor is not one this API returned");
    after = [Number(parts[0]), String(parts[1]), Number(parts[2])];
  }
  const tenant = q.tenant;
  let entries: AuditEntry[];
  try {
    entries = await auditStore(c.env).entries(entryQuery(tenant, q, after));
  } catch (err) {
    return unavailable(c, err);
  }
  await recordRead(c, "audit", { ...(q.run ? { runId: q.run } : {}), query: c.req.query() });
  const last = entries[entries.length - 1];
  const next = entries.length === q.limit && last ? btoa(JSON.stringify([last.at, last.stream, last.seq])).replace(/=+$/, "") : null;
  return c.json({ entries, next });
});

/** JSONL: the public key, then the entries (oldest first), then the seals and purge records of the streams exported. */
auditRoutes.get("/export", requireRole("auditor", "admin"), async (c) => {
  const q = parseQuery(c);
  if (q instanceof Response) return q;
  const tenant = q.tenant;
  const store = auditStore(c.env);
  let keys: Awaited<ReturnType<typeof publicKeySet>>;
  try {
    keys = await publicKeySet(c.env.AUDIT_SIGNING_KEY);
    await store.ready();
  } catch (err) {
    return unavailable(c, err);
  }
  await recordRead(c, "audit_export", { ...(q.run ? { runId: q.run } : {}), query: c.req.query() });
  const stream = q.stream ?? (q.run ? runStream(q.run) : undefined);
  const enc = new TextEncoder();
  const line = (l: ExportLine) => enc.encode(`${JSON.stringify(l)}\n`);
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        for (const jwk of keys.keys) controller.enqueue(line({ kind: "key", jwk }));
        const streams = new Set<string>();
        let after: EntryQuery["after"];
        for (;;) {
          const page = await store.entries({ ...entryQuery(tenant, { ...q, limit: 1000 }, after), stream });
          for (const e of page) {
            streams.add(e.stream);
            controller.enqueue(enc.encode(`${entryExportLine(e)}\n`));
          }
          if (page.length < 1000) break;
          const last = page[page.length - 1];
          after = [last.at, last.stream, last.seq];
        }
        const [seals, purges] = await Promise.all([store.seals(tenant, stream), store.purges(tenant, stream)]);
        for (const s of seals) if (streams.has(s.stream) || stream) controller.enqueue(line({ kind: "seal", ...s }));
        for (const p of purges) if (streams.has(p.stream) || stream) controller.enqueue(line({ kind: "purge", ...p }));
        controller.close();
      } catch (err) {
        controller.error(err);
      }
    },
  });
  return new Response(body, { headers: { "content-type": "application/x-ndjson; charset=utf-8", "content-disposition": `attachment; filename="warden-audit-${tenant}${q.run ? `-${q.run}` : ""}.jsonl"` } });
});

// ---------- legal holds ----------

const holdBody = z.strictObject({ scope: z.enum(["run", "workflow", "tenant"]), id: z.string().min(1).max(128).optional(), reason: z.string().min(1).max(2000) });
const releaseBody = z.strictObject({ reason: z.string().min(1).max(2000) });

holdRoutes.get("/", requireRole("auditor", "admin"), async (c) => {
  try {
    const holds = await auditStore(c.env).holds(c.get("principal").tenant);
    return c.json({ holds });
  } catch (err) {
    return unavailable(c, err);
  }
});

holdRoutes.post("/", requireRole("auditor", "admin"), async (c) => {
  const body = await readJson(c, holdBody);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  if (body.scope !== "tenant" && !body.id) return problem(c, 422, "Unprocessable Content", `a ${body.scope} hold needs the ${body.scope}'s id`, [{ path: "id", message: "required for run and workflow holds" }]);
  const hold = { id: `hold_${crypto.randomUUID()}`, tenant: p.tenant, scope: body.scope, scopeId: body.scope === "tenant" ? p.tenant : body.id!, reason: body.reason, placedBy: p.sub, placedAt: Date.now() };
  try {
    await auditStore(c.env).placeHold(hold);
  } catch (err) {
    return unavailable(c, err);
  }
  await registryStub(c.env, p.tenant).recordAudit([{ type: "hold.placed", actor: { sub: p.sub, roles: p.roles }, ...(hold.scope === "run" ? { runId: hold.scopeId } : {}), payload: { holdId: hold.id, scope: hold.scope, scopeId: hold.scopeId, reason: hold.reason } }]);
  return c.json({ ...hold, released: null }, 201, { location: `/v1/holds/${hold.id}` });
});

holdRoutes.post("/:id/release", requireRole("auditor", "admin"), async (c) => {
  const body = await readJson(c, releaseBody);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  const id = c.req.param("id");
  let released: boolean;
  try {
    released = await auditStore(c.env).releaseHold(p.tenant, id, p.sub, body.reason, Date.now());
  } catch (err) {
    return unavailable(c, err);
  }
  if (!released) return problem(c, 404, "Not Found", `no unreleased hold ${id}`);
  await registryStub(c.env, p.tenant).recordAudit([{ type: "hold.released", actor: { sub: p.sub, roles: p.roles }, payload: { holdId: id, reason: body.reason } }]);
  const hold = (await auditStore(c.env).holds(p.tenant)).find((h) => h.id === id);
  return c.json(hold);
});

// ---------- the public key that checks the seals ----------

wellKnownRoutes.get("/warden-audit-key", async (c) => {
  try {
    return c.json(await publicKeySet(c.env.AUDIT_SIGNING_KEY), 200, { "cache-control": "public, max-age=300" });
  } catch (err) {
    return problem(c, 503, "Audit key unavailable", (err as Error).message);
  }
});
