/**
 * Durable Object stubs by name: a run by its id, a registry by its tenant. Typed with the
 * objects' own method signatures (RPC's structural result types lose the discriminated unions).
 */
import type { AgentRun } from "../../durable-objects/agent-run.ts";
import type { TenantRegistry } from "../../durable-objects/tenant-registry.ts";
import type { AgentMemory } from "../../durable-objects/agent-memory.ts";
import type { Budget } from "../../durable-objects/budget.ts";
import { tenantBudgetName, tenantOfBudget } from "../budget/budget-scopes.ts";

type Methods<T, K extends keyof T> = { [M in K]: T[M] };

export type RunRpc = Methods<AgentRun, "start" | "summary" | "events" | "control" | "resolve" | "injectFault" | "approval" | "viewApproval" | "decideApproval" | "reassignApproval" | "cancelApproval" | "auditBacklog" | "setBudget" | "budget">;
export type RegistryRpc = Methods<TenantRegistry, "publish" | "workflow" | "listWorkflows" | "indexRun" | "listRuns" | "rotateWebhookSecret" | "webhookInfo" | "webhookEndpoint" | "recordWebhookDelivery" | "putDirectory" | "directory" | "rolesOf" | "indexApproval" | "listApprovals" | "putPolicy" | "getPolicy" | "policyHistory" | "policySet" | "recordAudit" | "auditBacklog" | "indexMemoryConflicts" | "listMemoryConflicts">;

export type MemoryRpc = Methods<AgentMemory, "write" | "read" | "conflicts" | "conflict" | "resolve" | "retract" | "erase">;
export type BudgetRpc = Methods<Budget, "reserveSlices" | "returnSlices" | "usage" | "runUsage" | "setLimits" | "ledger" | "injectFault">;

export const runStub = (env: Env, runId: string): RunRpc => env.AGENT_RUN.get(env.AGENT_RUN.idFromName(runId)) as unknown as RunRpc;
export const registryStub = (env: Env, tenant: string): RegistryRpc => env.TENANT_REGISTRY.get(env.TENANT_REGISTRY.idFromName(tenant)) as unknown as RegistryRpc;

/** A memory scope's object: one per tenant and scope, named `<tenant>:<scope>` (tenant ids hold no colon). */
export const memoryStub = (env: Env, tenant: string, scope: string): MemoryRpc => env.AGENT_MEMORY.get(env.AGENT_MEMORY.idFromName(`${tenant}:${scope}`)) as unknown as MemoryRpc;

/** A shared budget's object, by its name (`tenant:<t>`, `workflow:<t>:<wf>`, see src/budget/budget-scopes.ts). */
/** The Budget object that holds the shared budget `name`: one per tenant, for the tenant's own budget and each of its workflows'. */
export const budgetStub = (env: Env, name: string): BudgetRpc => env.BUDGET.get(env.BUDGET.idFromName(tenantBudgetName(tenantOfBudget(name) ?? name))) as unknown as BudgetRpc;

/** The deployment-wide (global) policy lives in a registry under a name no tenant can have. */
export const GLOBAL_SCOPE_TENANT = "__global__";
export const globalRegistryStub = (env: Env): RegistryRpc => registryStub(env, GLOBAL_SCOPE_TENANT);
