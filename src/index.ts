/** Worker entry: the Hono API, the scheduled audit jobs and the Durable Object classes. */
import { app } from "./api/app.ts";
import { runAuditJobs } from "./audit/audit-jobs.ts";
import { auditStore } from "./audit/audit-store.ts";
import { signingKey } from "./audit/seal.ts";

export { AgentRun } from "../durable-objects/agent-run.ts";
export { TenantRegistry } from "../durable-objects/tenant-registry.ts";
export { AuditWriter } from "../durable-objects/audit-writer.ts";
export { AgentMemory } from "../durable-objects/agent-memory.ts";
export { Budget } from "../durable-objects/budget.ts";

export default {
  fetch: app.fetch,
  /** The cron trigger: seal new chain heads, then purge what retention allows (a failure fails the invocation, and the next minute tries again). */
  async scheduled(_controller, env) {
    const r = await runAuditJobs(auditStore(env), await signingKey(env.AUDIT_SIGNING_KEY));
    if (r.sealed || r.purged.entries || r.purged.refused.length) console.log(`audit: sealed ${r.sealed} heads, purged ${r.purged.entries} entries from ${r.purged.streams} streams${r.purged.refused.length ? `, refused: ${r.purged.refused.join("; ")}` : ""}`);
  },
} satisfies ExportedHandler<Env>;
