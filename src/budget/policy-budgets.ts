/**
 * What a run's policy set says about money: the per-run caps of every level, the per-period
 * caps for the tenant's and the workflow's shared budgets, the per-call output cap and the
 * price overrides. Parsed once per loaded policy set. Pure.
 */
import type { LoadedPolicy } from "../engine/run-state.ts";
import type { WorkflowNode } from "../engine/workflow-schema.ts";
import { policySchema, type Policy, type PolicyLevel } from "../policy/policy-schema.ts";
import { limitsOfPolicy, mergeLimits, type Cap, type Limits } from "./budget-limits.ts";
import type { PriceOverrides } from "./price-table.ts";

export interface LevelPolicy {
  level: PolicyLevel;
  policy: Policy;
}

const parsedSets = new WeakMap<object, LevelPolicy[]>();
const parsedNodes = new WeakMap<object, Policy | null>();

export function levelPolicies(loaded: LoadedPolicy | null, node?: WorkflowNode): LevelPolicy[] {
  if (!loaded) return [];
  let base = parsedSets.get(loaded);
  if (!base) {
    base = loaded.entries.map((e) => ({ level: e.level, policy: policySchema.parse(e.policy) }));
    parsedSets.set(loaded, base);
  }
  if (!node || !("policy" in node) || !node.policy) return base;
  let np = parsedNodes.get(node);
  if (np === undefined) {
    np = policySchema.parse(node.policy);
    parsedNodes.set(node, np);
  }
  return np ? [...base, { level: "node", policy: np }] : base;
}

const enforced = (levels: LevelPolicy[]) => levels.filter((l) => l.policy.mode === "enforce");

/** The per-run cap (USD and tokens) of the enforced levels, merged with one set on the run itself. */
export function runCap(levels: LevelPolicy[], own: Cap | null): Cap | undefined {
  return mergeLimits(...enforced(levels).map((l) => limitsOfPolicy(l.policy)), own ? { run: own } : null).run;
}

const periodsOnly = (l: Limits): Limits => ({ ...(l.day ? { day: l.day } : {}), ...(l.month ? { month: l.month } : {}) });

/** Period caps the policies put on the shared budgets: global and tenant levels on the tenant's, workflow and node levels on the workflow's. */
export function sharedLimits(levels: LevelPolicy[]): { tenant: Limits; workflow: Limits } {
  const on = (ls: PolicyLevel[]) => periodsOnly(mergeLimits(...enforced(levels).filter((l) => ls.includes(l.level)).map((l) => limitsOfPolicy(l.policy))));
  return { tenant: on(["global", "tenant"]), workflow: on(["workflow", "node"]) };
}

/** The most restrictive `maxTokensPerCall`, if any level sets one. */
export function maxTokensPerCall(levels: LevelPolicy[]): number | undefined {
  let min: number | undefined;
  for (const l of enforced(levels)) {
    const v = l.policy.limits.maxTokensPerCall;
    if (v !== undefined && (min === undefined || v < min)) min = v;
  }
  return min;
}

/** The counters limits of the enforced levels (most restrictive). */
export function counterLimits(levels: LevelPolicy[]): { maxSteps?: number; maxToolCalls?: number; maxIterations?: number } {
  const out: { maxSteps?: number; maxToolCalls?: number; maxIterations?: number } = {};
  for (const l of enforced(levels)) {
    for (const k of ["maxSteps", "maxToolCalls", "maxIterations"] as const) {
      const v = l.policy.limits[k];
      if (v !== undefined && (out[k] === undefined || v < out[k])) out[k] = v;
    }
  }
  return out;
}

export function priceOverrides(levels: LevelPolicy[]): Array<{ level: string; prices: PriceOverrides | undefined }> {
  return levels.map((l) => ({ level: l.level, prices: l.policy.prices }));
}
