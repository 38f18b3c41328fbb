/**
 * Reads of run and audit data are themselves audited: who read what, when. The entry goes to
 * the tenant's audit stream (through its registry's outbox) before the data is returned; if it
 * cannot be recorded, the read fails.
 */
import type { Context } from "hono";
import type { AppEnv } from "./auth-middleware.ts";
import { registryStub } from "./stubs.ts";

export async function recordRead(c: Context<AppEnv>, resource: string, details: { runId?: string; query?: Record<string, string> } = {}): Promise<void> {
  const p = c.get("principal");
  // a plain object (Hono hands the query back without a prototype, which RPC cannot carry)
  const query = details.query && Object.keys(details.query).length ? Object.fromEntries(Object.entries(details.query)) : undefined;
  await registryStub(c.env, p.tenant).recordAudit([
    { type: `read.${resource}`, actor: { sub: p.sub, roles: p.roles }, ...(details.runId ? { runId: details.runId } : {}), payload: { resource, path: new URL(c.req.url).pathname, ...(details.runId ? { runId: details.runId } : {}), ...(query ? { query } : {}) } },
  ]);
}
