/** Durable Object stubs by name: a run by its id, a registry by its tenant. */
export const runStub = (env: Env, runId: string) => env.AGENT_RUN.get(env.AGENT_RUN.idFromName(runId));
export const registryStub = (env: Env, tenant: string) => env.TENANT_REGISTRY.get(env.TENANT_REGISTRY.idFromName(tenant));
