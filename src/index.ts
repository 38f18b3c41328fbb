/** Worker entry: the Hono API and the Durable Object classes. */
import { app } from "./api/app.ts";

export { AgentRun } from "../durable-objects/agent-run.ts";
export { TenantRegistry } from "../durable-objects/tenant-registry.ts";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
