/**
 * Policy management: PUT validates (zod + every CEL compiled) and keeps every version with its
 * author, time, reason and diff; a bad policy is rejected with each error's path and the old
 * one stays in force. The global policy belongs to the platform tenant's admins.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { parsePolicy } from "../../policy/policy-schema.ts";
import { requireRole, type AppEnv } from "../auth-middleware.ts";
import { readText } from "../body.ts";
import { problem } from "../problem.ts";
import { globalRegistryStub, registryStub, type RegistryRpc } from "../stubs.ts";

export const policyRoutes = new Hono<AppEnv>();

const platformTenant = (c: Context<AppEnv>) => c.env.PLATFORM_TENANT || "platform";

type Target = { registry: RegistryRpc; scope: string; level: "global" | "tenant" | "workflow" } | Response;

function target(c: Context<AppEnv>, kind: string, name?: string, write = false): Target {
  const p = c.get("principal");
  if (kind === "global") {
    if (write && p.tenant !== platformTenant(c)) return problem(c, 403, "Forbidden", `the global policy can only be changed by an admin of the platform tenant "${platformTenant(c)}"`);
    return { registry: globalRegistryStub(c.env), scope: "global", level: "global" };
  }
  if (kind === "tenants") {
    if (name !== p.tenant && p.tenant !== platformTenant(c)) return problem(c, 404, "Not Found", `no tenant ${name} for this token`);
    return { registry: registryStub(c.env, name!), scope: "tenant", level: "tenant" };
  }
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name ?? "")) return problem(c, 404, "Not Found", "no such workflow");
  return { registry: registryStub(c.env, p.tenant), scope: `workflow:${name}`, level: "workflow" };
}

const envelope = z.strictObject({ policy: z.unknown(), reason: z.string().min(1).max(2000) });

async function put(c: Context<AppEnv>, kind: string, name?: string) {
  const t = target(c, kind, name, true);
  if (t instanceof Response) return t;
  const text = await readText(c);
  if (text instanceof Response) return text;
  // JSON `{ "policy": …, "reason": "…" }`, or the policy itself (YAML or JSON) with the reason in `X-Change-Reason`
  let raw: unknown = text;
  let reason = c.req.header("x-change-reason") ?? "";
  try {
    const j = JSON.parse(text) as unknown;
    const env = envelope.safeParse(j);
    if (env.success) {
      raw = env.data.policy;
      reason = env.data.reason;
    } else raw = j;
  } catch {
    /* YAML */
  }
  if (!reason.trim()) return problem(c, 422, "Unprocessable Content", "a policy change needs a reason: send { \"policy\", \"reason\" } or an X-Change-Reason header", [{ path: "reason", message: "required" }]);
  const parsed = parsePolicy(raw);
  if (!parsed.ok) return problem(c, 422, "Invalid policy", `the policy has ${parsed.errors.length} error(s); the policy in force is unchanged`, parsed.errors);
  if (parsed.policy.level && parsed.policy.level !== t.level) return problem(c, 422, "Invalid policy", `this document says level "${parsed.policy.level}" but is being put at the ${t.level} level`, [{ path: "level", message: `must be ${t.level} or absent` }]);
  const saved = await t.registry.putPolicy(t.scope, { ...parsed.policy, level: t.level }, c.get("principal").sub, reason.trim());
  return c.json(saved, 201);
}

async function get(c: Context<AppEnv>, kind: string, name: string | undefined, history: boolean) {
  const t = target(c, kind, name);
  if (t instanceof Response) return t;
  if (history) return c.json({ items: await t.registry.policyHistory(t.scope), next: null });
  const cur = await t.registry.getPolicy(t.scope);
  return cur ? c.json(cur) : problem(c, 404, "Not Found", `no ${t.level} policy has been set`);
}

policyRoutes.put("/global", requireRole("admin"), (c) => put(c, "global"));
policyRoutes.get("/global", (c) => get(c, "global", undefined, false));
policyRoutes.get("/global/history", (c) => get(c, "global", undefined, true));
for (const kind of ["tenants", "workflows"] as const) {
  policyRoutes.put(`/${kind}/:name`, requireRole("admin"), (c) => put(c, kind, c.req.param("name")));
  policyRoutes.get(`/${kind}/:name`, (c) => get(c, kind, c.req.param("name"), false));
  policyRoutes.get(`/${kind}/:name/history`, (c) => get(c, kind, c.req.param("name"), true));
}
