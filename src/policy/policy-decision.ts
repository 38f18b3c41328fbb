/**
 * The policy decision: four levels, most restrictive wins. Pure and deterministic (time comes
 * from the run's log). Semantics, as the README states them:
 *
 *  1. Each level is judged on its own: a matching `tools.deny` pattern denies; a present
 *     `tools.allow` / `models.allow` / `egress.allow` list that does not match denies (an absent
 *     list restricts nothing); a reached limit denies; every rule whose `when` is true adds its
 *     effect; a rule that fails to evaluate denies (fail closed). The level's effect is the most
 *     restrictive of these: deny > require_approval > allow.
 *  2. The decision is the most restrictive effect over the `enforce` levels. Allowlists
 *     therefore intersect and any deny wins; a rule's `allow` never overrides a deny.
 *  3. Among require_approval outcomes the strictest approver set wins: the highest quorum, and
 *     on a tie the higher level (global over tenant over workflow over node).
 *  4. `shadow` levels are judged too; what the decision would have been with them enforced is
 *     recorded as `shadow` when it differs, and never changes the decision.
 */
import { constantOf } from "../engine/cel-compiler.ts";
import { compileExpressionParts, specialize, type ExpressionParts } from "../engine/expression.ts";
import { anyMatches, hostAllowed, matchesAny } from "./glob.ts";
import type { Approvers, Policy, PolicyLevel, PolicyRule } from "./policy-schema.ts";

export type Effect = "allow" | "deny" | "require_approval";
export type PolicyAction = "tool" | "llm" | "egress" | "memory.write" | "memory.read";

export interface PolicyEntry {
  level: PolicyLevel;
  version: number | null;
  policy: Policy;
}

export interface PolicyRequest {
  action: PolicyAction;
  node: string;
  tool?: string;
  args?: unknown;
  model?: string;
  host?: string;
  maxTokens?: number;
}

export interface PolicyFacts {
  tenant: string;
  workflow: string;
  input: unknown;
  nodes: Record<string, { output: unknown }>;
  counts: { steps: number; toolCalls: number; llmCalls: number; iterations: number; inputTokens: number; outputTokens: number };
  costUsd: number;
  /** The run's clock: the time of the event being decided, from the log. */
  now: number;
}

export interface LevelVerdict {
  level: PolicyLevel;
  mode: "enforce" | "shadow";
  effect: Effect;
  rules: string[];
  reasons: string[];
  approvers?: Approvers;
}

export interface PolicyDecision {
  effect: Effect;
  rules: string[];
  reason: string;
  approvers?: Approvers;
  levels: LevelVerdict[];
  shadow: null | { effect: Effect; rules: string[]; reason: string };
}

const RANK: Record<Effect, number> = { allow: 0, require_approval: 1, deny: 2 };
const AT: Record<PolicyLevel, string> = { global: "the global policy", tenant: "the tenant policy", workflow: "the workflow policy", node: "the node policy" };
const LEVEL_RANK: Record<PolicyLevel, number> = { global: 0, tenant: 1, workflow: 2, node: 3 };

interface CompiledRule {
  rule: PolicyRule;
  run: ExpressionParts;
  /** The tool a rule is guarded on (`call.tool == '…' && …`), so other tools skip it without evaluating. */
  toolGuard: string | null;
}

/** `call.tool == 'x' && …` with no `||` or `?:` anywhere: the rule can only match tool x. */
export function toolGuardOf(when: string): string | null {
  if (/\|\||\?/.test(when)) return null;
  return /^\s*call\.tool\s*==\s*['"]([^'"]+)['"]\s*(&&|$)/.exec(when)?.[1] ?? null;
}

/** A level's rules compiled once: those guarded on one tool are indexed by it, the rest apply to every call. */
interface CompiledPolicy {
  /** rules not guarded on a tool, by the action they apply to (a rule's `on` is applied here, once) */
  unguarded: Record<PolicyAction, CompiledRule[]>;
  byTool: Map<string, CompiledRule[]>;
  /** by action, then tool (undefined: none): what a request with that action and tool meets at this level (see `plan`) */
  plans: Map<string, Map<string | undefined, Plan>>;
  /** plans made so far, at most MAX_PLANS */
  planCount: number;
}

/** What a request with a given action and tool meets at one level, worked out once. */
interface Plan {
  /** the rules it reaches, in order, specialized to the action and tool */
  steps: RuleStep[];
  /** a tool call: the first `tools.deny` pattern matching the tool (null: none) */
  toolDenied: string | null;
  /** a tool call: a `tools.allow` list is present and no pattern matches the tool */
  toolNotAllowed: boolean;
}

/** One rule as a request with a given action and tool reaches it. */
interface RuleStep {
  rule: PolicyRule;
  /** closures with `call.kind` and `call.tool` folded in (null: interpreter only); throwing means "ask `interpret`" */
  fast: ((ctx: Record<string, unknown>) => unknown) | null;
  interpret: (ctx: Record<string, unknown>) => unknown;
}

/** Plans kept per policy: one per (action, tool) seen, so a policy's memory is bounded whatever tool names arrive. */
const MAX_PLANS = 512;

const ACTIONS: readonly PolicyAction[] = ["tool", "llm", "egress", "memory.write", "memory.read"];

const compiledPolicies = new WeakMap<Policy, CompiledPolicy>();
const NONE: CompiledRule[] = [];
/** Shared by every verdict without reasons (never mutated: a level's reasons are assigned, not pushed). */
const NO_REASONS: string[] = Object.freeze([]) as unknown as string[];

/** Where a policy's compiled rules are kept: on the policy object itself (a symbol key, not enumerable), read with one property load. */
const COMPILED = Symbol("compiled rules");

function compiled(p: Policy): CompiledPolicy {
  const own = (p as { [COMPILED]?: CompiledPolicy })[COMPILED];
  if (own) return own;
  let c = compiledPolicies.get(p);
  if (!c) {
    c = { unguarded: { tool: [], llm: [], egress: [], "memory.write": [], "memory.read": [] }, byTool: new Map(), plans: new Map(), planCount: 0 };
    for (const rule of p.rules) {
      const r: CompiledRule = { rule, run: compileExpressionParts(rule.when), toolGuard: toolGuardOf(rule.when) };
      if (r.toolGuard === null) {
        for (const a of ACTIONS) if (!rule.on || rule.on.includes(a)) c.unguarded[a].push(r);
      } else c.byTool.set(r.toolGuard, [...(c.byTool.get(r.toolGuard) ?? []), r]);
    }
    compiledPolicies.set(p, c);
    if (Object.isExtensible(p)) Object.defineProperty(p, COMPILED, { value: c });
  }
  return c;
}

/** What one level has found so far: its verdict and the reasons behind each effect. */
interface LevelTally {
  v: LevelVerdict;
  denyReasons: string[] | null;
  approvalReasons: string[] | null;
}

function add(t: LevelTally, effect: Effect, reason: string, rule?: string, approvers?: Approvers): void {
  const v = t.v;
  if (RANK[effect] > RANK[v.effect]) v.effect = effect;
  if (effect === "deny") (t.denyReasons ??= []).push(reason);
  else if (effect === "require_approval") (t.approvalReasons ??= []).push(reason);
  if (rule) v.rules.push(rule);
  if (approvers && (!v.approvers || approvers.quorum > v.approvers.quorum)) v.approvers = approvers;
}

/**
 * What a request with this action and tool meets at a level: the tool lists' verdicts, and the
 * rules it reaches — the action's unguarded rules, then those guarded on the tool whose `on` admits
 * the action, the order `evaluateRules` walks them in — with each rule's closures specialized to
 * the context's `call.kind` and `call.tool` (celContext sets both from the request). A rule that is
 * false whatever the rest of the context is dropped: it could neither match nor fail. Null once the
 * policy has MAX_PLANS plans: such a request is judged unplanned.
 */
function plan(p: Policy, c: CompiledPolicy, action: PolicyAction, tool: string | undefined): Plan | null {
  let byTool = c.plans.get(action);
  const known = byTool?.get(tool);
  if (known) return known;
  if (c.planCount >= MAX_PLANS) return null; // rather than compile per decision
  const reached = tool === undefined ? c.unguarded[action] : [...c.unguarded[action], ...(c.byTool.get(tool) ?? NONE).filter((r) => !r.rule.on || r.rule.on.includes(action))];
  const values = { "call.kind": action, "call.tool": tool ?? "" };
  const steps: RuleStep[] = [];
  for (const r of reached) {
    const fast = specialize(r.run, values);
    if (fast && constantOf(fast)?.value === false) continue;
    steps.push({ rule: r.rule, fast, interpret: r.run.interpret });
  }
  const isTool = action === "tool" && tool !== undefined;
  const made: Plan = {
    steps,
    toolDenied: isTool && p.tools?.deny.length && anyMatches(tool, p.tools.deny) ? matchesAny(tool, p.tools.deny) : null,
    toolNotAllowed: isTool && p.tools?.allow !== undefined && !anyMatches(tool, p.tools.allow),
  };
  if (!byTool) c.plans.set(action, (byTool = new Map()));
  byTool.set(tool, made);
  c.planCount++;
  return made;
}

function evaluateSteps(steps: RuleStep[], ctx: Record<string, unknown>, t: LevelTally): void {
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    let hit: unknown;
    try {
      const fast = s.fast;
      if (fast === null) hit = s.interpret(ctx);
      else {
        try {
          hit = fast(ctx);
        } catch {
          hit = s.interpret(ctx); // the interpreter gives the authoritative result or error
        }
      }
    } catch (err) {
      const rule = s.rule;
      // a rule that cannot be evaluated for this call (e.g. a missing field) does not match,
      // unless it is a deny rule: then it fails closed
      if (rule.effect === "deny") add(t, "deny", `rule "${rule.id}" could not be evaluated (${(err as Error).message.split("\n")[0]}); denied to be safe`, rule.id);
      continue;
    }
    if (hit === true) {
      const rule = s.rule;
      add(t, rule.effect, rule.reason, rule.id, rule.approvers);
    }
  }
}

function evaluateRules(rules: CompiledRule[], req: PolicyRequest, ctxOf: () => Record<string, unknown>, t: LevelTally, checkOn: boolean): void {
  if (!rules.length) return;
  const ctx = ctxOf();
  for (let i = 0; i < rules.length; i++) {
    const c = rules[i];
    const rule = c.rule;
    if (checkOn && rule.on && !rule.on.includes(req.action)) continue;
    let hit: unknown;
    try {
      const { fast, interpret } = c.run;
      if (fast === null) hit = interpret(ctx);
      else {
        try {
          hit = fast(ctx);
        } catch {
          hit = interpret(ctx); // the interpreter gives the authoritative result or error
        }
      }
    } catch (err) {
      // a rule that cannot be evaluated for this call (e.g. a missing field) does not match,
      // unless it is a deny rule: then it fails closed
      if (rule.effect === "deny") add(t, "deny", `rule "${rule.id}" could not be evaluated (${(err as Error).message.split("\n")[0]}); denied to be safe`, rule.id);
      continue;
    }
    if (hit === true) add(t, rule.effect, rule.reason, rule.id, rule.approvers);
  }
}

export function celContext(req: PolicyRequest, facts: PolicyFacts): Record<string, unknown> {
  return {
    call: { kind: req.action, tool: req.tool ?? "", args: req.args ?? {}, model: req.model ?? "", host: req.host ?? "" },
    input: facts.input,
    nodes: facts.nodes,
    tenant: facts.tenant,
    workflow: facts.workflow,
    node: req.node,
    counts: facts.counts,
    cost: { usd: facts.costUsd },
    now: new Date(facts.now),
  };
}

function judgeLevel(e: PolicyEntry, req: PolicyRequest, facts: PolicyFacts, ctx: () => Record<string, unknown>): LevelVerdict {
  const p = e.policy;
  const v: LevelVerdict = { level: e.level, mode: p.mode, effect: "allow", rules: [], reasons: NO_REASONS };
  const t: LevelTally = { v, denyReasons: null, approvalReasons: null };
  const at = AT[e.level];
  const isTool = req.action === "tool" && req.tool !== undefined;
  const c = isTool || p.rules.length ? compiled(p) : null;
  const pl = c && plan(p, c, req.action, req.tool);
  if (isTool) {
    const tool = req.tool as string;
    const denied = pl ? pl.toolDenied : p.tools?.deny.length && anyMatches(tool, p.tools.deny) ? matchesAny(tool, p.tools.deny) : null;
    if (denied) add(t, "deny", `tool "${tool}" is denied by ${at} (pattern ${denied})`);
    if (pl ? pl.toolNotAllowed : p.tools?.allow && !anyMatches(tool, p.tools.allow)) add(t, "deny", `tool "${tool}" is not in the tool allowlist of ${at}`);
    if (p.limits.maxToolCalls !== undefined && facts.counts.toolCalls >= p.limits.maxToolCalls) add(t, "deny", `${at} allows at most ${p.limits.maxToolCalls} tool calls per run`);
  }
  if (req.action === "egress" && req.host !== undefined && p.egress?.allow && !hostAllowed(req.host, p.egress.allow)) {
    add(t, "deny", `egress to ${req.host} is not in the egress allowlist of ${at}`);
  }
  if (req.action === "llm") {
    if (req.model !== undefined && p.models?.allow && !anyMatches(req.model, p.models.allow)) add(t, "deny", `model "${req.model}" is not in the model allowlist of ${at}`);
    if (p.limits.maxIterations !== undefined && facts.counts.iterations >= p.limits.maxIterations) add(t, "deny", `${at} allows at most ${p.limits.maxIterations} agent iterations`);
    if (p.limits.maxTokensPerCall !== undefined && (req.maxTokens ?? 0) > p.limits.maxTokensPerCall) add(t, "deny", `the call asks for ${req.maxTokens} tokens; ${at} allows at most ${p.limits.maxTokensPerCall} per call`);
  }
  if (p.limits.maxCostUsdPerRun !== undefined && (req.action === "llm" || req.action === "tool") && facts.costUsd >= p.limits.maxCostUsdPerRun) add(t, "deny", `the run has spent $${facts.costUsd.toFixed(4)}; ${at} allows $${p.limits.maxCostUsdPerRun} per run`);
  if (p.limits.maxSteps !== undefined && facts.counts.steps > p.limits.maxSteps) add(t, "deny", `${at} allows at most ${p.limits.maxSteps} steps per run`);
  if (c && p.rules.length) {
    if (pl) {
      if (pl.steps.length) evaluateSteps(pl.steps, ctx(), t);
    } else {
      evaluateRules(c.unguarded[req.action], req, ctx, t, false);
      if (req.tool !== undefined) evaluateRules(c.byTool.get(req.tool) ?? NONE, req, ctx, t, true);
    }
  }
  // the level's reasons are those of its deciding effect (a deny does not cite approval rules)
  v.reasons = (v.effect === "deny" ? t.denyReasons : v.effect === "require_approval" ? t.approvalReasons : null) ?? NO_REASONS;
  return v;
}

const ALLOWED = (): { effect: Effect; rules: string[]; reason: string } => ({ effect: "allow", rules: [], reason: "allowed" });

function combine(verdicts: LevelVerdict[]): { effect: Effect; rules: string[]; reason: string; approvers?: Approvers } {
  let effect: Effect = "allow";
  let anyRule = false;
  for (const v of verdicts) {
    if (RANK[v.effect] > RANK[effect]) effect = v.effect;
    if (v.rules.length) anyRule = true;
  }
  if (effect === "allow" && !anyRule) return ALLOWED();
  const rules: string[] = [];
  for (const v of verdicts) for (const r of v.rules) if (!rules.includes(r)) rules.push(r);
  if (effect === "allow") return { effect, rules, reason: "allowed" };
  // the deciding levels' reasons, each once, in level order; the strictest approver set
  const reasons: string[] = [];
  let approvers: Approvers | undefined;
  let approverRank = Infinity;
  for (const v of verdicts) {
    if (v.effect !== effect) continue;
    for (const r of v.reasons) if (!reasons.includes(r)) reasons.push(r);
    if (effect === "require_approval" && v.approvers && (!approvers || v.approvers.quorum > approvers.quorum || (v.approvers.quorum === approvers.quorum && LEVEL_RANK[v.level] < approverRank))) {
      approvers = v.approvers;
      approverRank = LEVEL_RANK[v.level];
    }
  }
  return approvers ? { effect, rules, reason: reasons.join("; "), approvers } : { effect, rules, reason: reasons.join("; ") };
}

/**
 * A call as the run's gate decides it: an HTTP tool call (a tool request with a `host`) is also
 * an egress request to that host, and both must pass; the stricter decision wins and the
 * matched rules of both are recorded.
 */
export function decideCall(entries: readonly PolicyEntry[], req: PolicyRequest, facts: PolicyFacts): PolicyDecision {
  const d = decidePolicy(entries, req, facts);
  if (req.action !== "tool" || req.host === undefined) return d;
  const egress = decidePolicy(entries, { action: "egress", node: req.node, host: req.host, tool: req.tool, args: req.args }, facts);
  const rules = [...new Set([...d.rules, ...egress.rules])];
  return RANK[egress.effect] > RANK[d.effect] ? { ...egress, rules } : { ...d, rules };
}

export function decidePolicy(entries: readonly PolicyEntry[], req: PolicyRequest, facts: PolicyFacts): PolicyDecision {
  let ctxValue: Record<string, unknown> | null = null;
  const ctx = () => (ctxValue ??= celContext(req, facts));
  const levels: LevelVerdict[] = [];
  let hasShadow = false;
  for (let i = 0; i < entries.length; i++) {
    const v = judgeLevel(entries[i], req, facts, ctx);
    levels.push(v);
    if (v.mode === "shadow") hasShadow = true;
  }
  const enforced = combine(hasShadow ? levels.filter((l) => l.mode === "enforce") : levels);
  if (!hasShadow) {
    const d: PolicyDecision = { effect: enforced.effect, rules: enforced.rules, reason: enforced.reason, levels, shadow: null };
    if (enforced.approvers) d.approvers = enforced.approvers;
    return d;
  }
  const all = combine(levels);
  const shadow = all.effect !== enforced.effect || all.rules.length !== enforced.rules.length ? { effect: all.effect, rules: all.rules, reason: all.reason } : null;
  return { ...enforced, levels, shadow };
}
