/**
 * decidePolicy's fast paths (rules specialized per action and tool, rules that cannot match for a
 * tool dropped, tool-list verdicts worked out once, compiled CEL closures) against a reference that
 * does none of it: every reached rule run by cel-js's interpreter, every list matched afresh.
 * The whole decision must be the same — effect, rule ids, reasons, approvers, levels, shadow.
 */
import { parse } from "@marcbachmann/cel-js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { celContext, decidePolicy, toolGuardOf, type Effect, type LevelVerdict, type PolicyAction, type PolicyDecision, type PolicyEntry, type PolicyFacts, type PolicyRequest } from "../../src/policy/policy-decision.ts";
import { hostAllowed, matchesAny } from "../../src/policy/glob.ts";
import { policySchema, type Approvers, type PolicyLevel } from "../../src/policy/policy-schema.ts";

// -------------------------------------------------------------------------------------------------
// the reference: the decision as the module's header states it, with the interpreter only
// -------------------------------------------------------------------------------------------------

const RANK: Record<Effect, number> = { allow: 0, require_approval: 1, deny: 2 };
const AT: Record<PolicyLevel, string> = { global: "the global policy", tenant: "the tenant policy", workflow: "the workflow policy", node: "the node policy" };
const LEVEL_RANK: Record<PolicyLevel, number> = { global: 0, tenant: 1, workflow: 2, node: 3 };
const programs = new Map<string, ReturnType<typeof parse>>();
const interpret = (src: string) => programs.get(src) ?? programs.set(src, parse(src)).get(src)!;

function referenceLevel(e: PolicyEntry, req: PolicyRequest, facts: PolicyFacts): LevelVerdict {
  const p = e.policy;
  const v: LevelVerdict = { level: e.level, mode: p.mode, effect: "allow", rules: [], reasons: [] };
  const deny: string[] = [];
  const approval: string[] = [];
  const add = (effect: Effect, reason: string, rule?: string, approvers?: Approvers) => {
    if (RANK[effect] > RANK[v.effect]) v.effect = effect;
    if (effect === "deny") deny.push(reason);
    else if (effect === "require_approval") approval.push(reason);
    if (rule) v.rules.push(rule);
    if (approvers && (!v.approvers || approvers.quorum > v.approvers.quorum)) v.approvers = approvers;
  };
  const at = AT[e.level];
  if (req.action === "tool" && req.tool !== undefined) {
    const denied = p.tools ? matchesAny(req.tool, p.tools.deny) : null;
    if (denied) add("deny", `tool "${req.tool}" is denied by ${at} (pattern ${denied})`);
    if (p.tools?.allow && !matchesAny(req.tool, p.tools.allow)) add("deny", `tool "${req.tool}" is not in the tool allowlist of ${at}`);
    if (p.limits.maxToolCalls !== undefined && facts.counts.toolCalls >= p.limits.maxToolCalls) add("deny", `${at} allows at most ${p.limits.maxToolCalls} tool calls per run`);
  }
  if (req.action === "egress" && req.host !== undefined && p.egress?.allow && !hostAllowed(req.host, p.egress.allow)) add("deny", `egress to ${req.host} is not in the egress allowlist of ${at}`);
  if (req.action === "llm") {
    if (req.model !== undefined && p.models?.allow && !matchesAny(req.model, p.models.allow)) add("deny", `model "${req.model}" is not in the model allowlist of ${at}`);
    if (p.limits.maxIterations !== undefined && facts.counts.iterations >= p.limits.maxIterations) add("deny", `${at} allows at most ${p.limits.maxIterations} agent iterations`);
    if (p.limits.maxTokensPerCall !== undefined && (req.maxTokens ?? 0) > p.limits.maxTokensPerCall) add("deny", `the call asks for ${req.maxTokens} tokens; ${at} allows at most ${p.limits.maxTokensPerCall} per call`);
  }
  if (p.limits.maxCostUsdPerRun !== undefined && (req.action === "llm" || req.action === "tool") && facts.costUsd >= p.limits.maxCostUsdPerRun) add("deny", `the run has spent $${facts.costUsd.toFixed(4)}; ${at} allows $${p.limits.maxCostUsdPerRun} per run`);
  if (p.limits.maxSteps !== undefined && facts.counts.steps > p.limits.maxSteps) add("deny", `${at} allows at most ${p.limits.maxSteps} steps per run`);
  // rules: first those not guarded on a tool, then those guarded on this call's tool, each in document order
  const applies = (guarded: boolean) => p.rules.filter((r) => (!r.on || r.on.includes(req.action)) && (toolGuardOf(r.when) !== null) === guarded && (!guarded || toolGuardOf(r.when) === req.tool));
  const ctx = celContext(req, facts);
  for (const r of [...applies(false), ...applies(true)]) {
    let hit: unknown;
    try {
      hit = interpret(r.when)(ctx);
    } catch (err) {
      if (r.effect === "deny") add("deny", `rule "${r.id}" could not be evaluated (${(err as Error).message.split("\n")[0]}); denied to be safe`, r.id);
      continue;
    }
    if (hit === true) add(r.effect, r.reason, r.id, r.approvers);
  }
  v.reasons = v.effect === "deny" ? deny : v.effect === "require_approval" ? approval : [];
  return v;
}

function referenceCombine(verdicts: LevelVerdict[]): { effect: Effect; rules: string[]; reason: string; approvers?: Approvers } {
  const effect = verdicts.reduce<Effect>((m, v) => (RANK[v.effect] > RANK[m] ? v.effect : m), "allow");
  const rules = [...new Set(verdicts.flatMap((v) => v.rules))];
  if (effect === "allow") return { effect, rules, reason: "allowed" };
  const reasons = [...new Set(verdicts.filter((v) => v.effect === effect).flatMap((v) => v.reasons))];
  let approvers: Approvers | undefined;
  let approverRank = Infinity;
  for (const v of verdicts) {
    if (effect !== "require_approval" || v.effect !== effect || !v.approvers) continue;
    if (!approvers || v.approvers.quorum > approvers.quorum || (v.approvers.quorum === approvers.quorum && LEVEL_RANK[v.level] < approverRank)) {
      approvers = v.approvers;
      approverRank = LEVEL_RANK[v.level];
    }
  }
  return approvers ? { effect, rules, reason: reasons.join("; "), approvers } : { effect, rules, reason: reasons.join("; ") };
}

function referenceDecide(entries: readonly PolicyEntry[], req: PolicyRequest, facts: PolicyFacts): PolicyDecision {
  const levels = entries.map((e) => referenceLevel(e, req, facts));
  const enforced = referenceCombine(levels.filter((l) => l.mode === "enforce"));
  if (!levels.some((l) => l.mode === "shadow")) {
    const d: PolicyDecision = { effect: enforced.effect, rules: enforced.rules, reason: enforced.reason, levels, shadow: null };
    if (enforced.approvers) d.approvers = enforced.approvers;
    return d;
  }
  const all = referenceCombine(levels);
  return { ...enforced, levels, shadow: all.effect !== enforced.effect || all.rules.length !== enforced.rules.length ? { effect: all.effect, rules: all.rules, reason: all.reason } : null };
}

/** Same decision, down to the order of keys (what an audit record would serialize). */
function expectSame(d: PolicyDecision, ref: PolicyDecision): void {
  expect(d).toEqual(ref);
  expect(JSON.stringify(d)).toBe(JSON.stringify(ref));
}

// -------------------------------------------------------------------------------------------------
// generated policy sets, requests and facts
// -------------------------------------------------------------------------------------------------

const TOOLS = ["payments.create", "payments.refund", "email.send", "sql.query", "crm.update", "data.export", "shell.exec", "claims.lookup", "x", ""];
const WHEN = [
  // the benchmark's styles
  "call.tool == 'payments.create' && double(call.args.amount) > 10000.0",
  "call.tool == 'payments.refund' && double(input.amount) > 500.0",
  "call.tool == 'payments.create' && now.getDayOfWeek() in [0, 6]",
  "call.tool.startsWith('payments.') && (now.getHours() < 6 || now.getHours() >= 22)",
  "call.tool == 'data.export' && input.region in ['EU', 'UK']",
  "call.tool == 'payments.create' && !(call.args.currency in ['EUR', 'USD', 'GBP'])",
  "call.tool == 'sql.query' && call.args.query.matches('^(DROP|TRUNCATE|ALTER) ')",
  "call.tool == 'email.send' && !call.args.to.endsWith('@acme.example')",
  "call.tool == 'crm.update' && size(call.args.records) > 2",
  "call.tool == 'email.send' && call.args.template == 'marketing'",
  "counts.toolCalls > 4",
  "cost.usd > 0.5",
  "call.model.startsWith('gpt') && counts.llmCalls > 2",
  "counts.inputTokens + counts.outputTokens > 5000",
  "call.tool == 'claims.lookup'",
  "call.tool.startsWith('shell')",
  "call.args.key.startsWith('pii.')",
  "counts.steps > 10",
  "node == 'pay' && !call.tool.startsWith('payments.')",
  "tenant == 'acme' && call.tool == 'data.export'",
  // kinds, hosts, constants, errors, the interpreter's share
  "call.kind == 'llm'",
  "call.kind == 'tool' && call.tool == ''",
  "call.host.endsWith('.example')",
  "true",
  "false",
  "call.args.missing > 1",
  "call.tool == 'payments.create' && call.args.missing > 1",
  "call.args.missing > 1 && call.tool == 'x'",
  "call.tool == 'x' || call.args.amount > 5.0",
  "call.tool == 'x' ? true : call.args.amount > 5.0",
  "input.tags.exists(t, t == 'vip')",
  "has(call.args.amount) && call.tool == 'payments.create'",
  "call.tool == \"payments.create\" && call.args.amount == 500",
  "call.args.amount",
  "call.tool",
  "input.amount > 100",
];
const ACTIONS: PolicyAction[] = ["tool", "tool", "tool", "llm", "egress", "memory.write", "memory.read"];
const LEVELS: PolicyLevel[] = ["global", "tenant", "workflow", "node"];
const patterns = fc.constantFrom("payments.*", "*.create", "email.send", "shell.*", "*", "claims.lookup", "x");

const ruleArb = fc.record({
  when: fc.constantFrom(...WHEN),
  effect: fc.constantFrom<Effect>("allow", "deny", "require_approval"),
  quorum: fc.integer({ min: 1, max: 3 }),
  on: fc.option(fc.subarray(["tool", "llm", "egress", "memory.write", "memory.read"] as PolicyAction[], { minLength: 1 }), { nil: undefined }),
});
const policyArb = fc.record({
  mode: fc.constantFrom("enforce", "enforce", "shadow"),
  tools: fc.option(fc.record({ allow: fc.option(fc.array(patterns, { maxLength: 3 }), { nil: undefined }), deny: fc.array(patterns, { maxLength: 2 }) }), { nil: undefined }),
  models: fc.option(fc.record({ allow: fc.array(fc.constantFrom("gpt-*", "claude-*", "o3"), { maxLength: 2 }) }), { nil: undefined }),
  egress: fc.option(fc.record({ allow: fc.array(fc.constantFrom("*.example", "api.example", "evil.example"), { maxLength: 2 }) }), { nil: undefined }),
  limits: fc.record({ maxToolCalls: fc.integer({ min: 0, max: 8 }), maxIterations: fc.integer({ min: 0, max: 8 }), maxTokensPerCall: fc.integer({ min: 1, max: 4000 }), maxCostUsdPerRun: fc.double({ min: 0, max: 2, noNaN: true }), maxSteps: fc.integer({ min: 1, max: 20 }) }, { requiredKeys: [] }),
  rules: fc.array(ruleArb, { maxLength: 12 }),
});
const setArb = fc.array(policyArb, { minLength: 1, maxLength: 4 }).map((ps) =>
  ps.map(
    (p, i): PolicyEntry => ({
      level: LEVELS[i],
      version: 1,
      policy: policySchema.parse({
        mode: p.mode,
        ...(p.tools ? { tools: p.tools } : {}),
        ...(p.models ? { models: p.models } : {}),
        ...(p.egress ? { egress: p.egress } : {}),
        limits: p.limits,
        rules: p.rules.map((r, j) => ({ id: `r${i}-${j}`, when: r.when, effect: r.effect, reason: `reason ${i}-${j}`, ...(r.on ? { on: r.on } : {}), ...(r.effect === "require_approval" ? { approvers: { roles: [`role${i}`], quorum: r.quorum } } : {}) })),
      }),
    }),
  ),
);
const reqArb: fc.Arbitrary<PolicyRequest> = fc.record(
  {
    action: fc.constantFrom(...ACTIONS),
    node: fc.constantFrom("pay", "assess"),
    tool: fc.constantFrom(...TOOLS),
    args: fc.record({ amount: fc.oneof(fc.integer({ min: 0, max: 30000 }), fc.constant("12000")), currency: fc.constantFrom("EUR", "JPY"), query: fc.constantFrom("DROP TABLE x", "SELECT 1"), to: fc.constantFrom("a@acme.example", "b@gmail.com"), template: fc.constantFrom("marketing", "notice"), records: fc.array(fc.constant({ id: 1 }), { maxLength: 4 }), key: fc.constantFrom("pii.email", "notes") }, { requiredKeys: [] }),
    model: fc.constantFrom("gpt-4.1", "claude-3", "o3", "mistral"),
    host: fc.constantFrom("api.example", "evil.example", "a.b.example", "other.org"),
    maxTokens: fc.integer({ min: 0, max: 6000 }),
  },
  { requiredKeys: ["action", "node"] },
);
const factsArb: fc.Arbitrary<PolicyFacts> = fc.record({
  tenant: fc.constantFrom("acme", "globex"),
  workflow: fc.constant("claims"),
  input: fc.record({ amount: fc.integer({ min: 0, max: 1000 }), region: fc.constantFrom("EU", "US", "UK"), tags: fc.array(fc.constantFrom("vip", "x"), { maxLength: 2 }) }, { requiredKeys: [] }),
  nodes: fc.constant({}),
  counts: fc.record({ steps: fc.integer({ min: 0, max: 25 }), toolCalls: fc.integer({ min: 0, max: 10 }), llmCalls: fc.integer({ min: 0, max: 5 }), iterations: fc.integer({ min: 0, max: 10 }), inputTokens: fc.integer({ min: 0, max: 5000 }), outputTokens: fc.integer({ min: 0, max: 2000 }) }),
  costUsd: fc.double({ min: 0, max: 3, noNaN: true }),
  now: fc.integer({ min: Date.parse("2026-11-23T00:00:00Z"), max: Date.parse("2026-11-30T00:00:00Z") }),
});

describe("policy decision: the fast paths decide exactly as the interpreter-only reference", () => {
  it("property: same decision for generated policy sets, requests and facts (each set asked several times, so plans are reused)", () => {
    fc.assert(
      fc.property(setArb, fc.array(fc.tuple(reqArb, factsArb), { minLength: 1, maxLength: 6 }), (set, asks) => {
        for (const [req, facts] of asks) expectSame(decidePolicy(set, req, facts), referenceDecide(set, req, facts));
      }),
      { numRuns: 1500 },
    );
  });

  it("a policy that has seen more tool names than it keeps plans for still decides the same", () => {
    const set: PolicyEntry[] = LEVELS.map((level, i) => ({
      level,
      version: 1,
      policy: policySchema.parse({ tools: { deny: ["shell.*"], ...(i === 1 ? { allow: ["t*", "shell.*"] } : {}) }, rules: WHEN.map((when, j) => ({ id: `r${j}`, when, effect: (["deny", "require_approval", "allow"] as const)[j % 3], reason: `reason ${j}`, ...(j % 3 === 1 ? { approvers: { roles: ["r"], quorum: 1 + (i % 2) } } : {}) })) }),
    }));
    const facts: PolicyFacts = { tenant: "acme", workflow: "w", input: { amount: 5, region: "EU", tags: [] }, nodes: {}, counts: { steps: 3, toolCalls: 5, llmCalls: 3, iterations: 1, inputTokens: 4000, outputTokens: 2000 }, costUsd: 0.6, now: Date.parse("2026-11-28T23:00:00Z") };
    for (let k = 0; k < 700; k++) {
      const tool = k % 7 === 0 ? TOOLS[k % TOOLS.length] : `t${k}`;
      const req: PolicyRequest = { action: "tool", node: "pay", tool, args: { amount: k * 50, currency: "JPY", to: "x@y", records: [1, 2, 3], key: "pii.x" } };
      expectSame(decidePolicy(set, req, facts), referenceDecide(set, req, facts));
      expectSame(decidePolicy(set, req, facts), referenceDecide(set, req, facts)); // again, planned or not
    }
  });

  it("frozen policy documents (compiled rules kept aside, not on the object) decide the same", () => {
    const policy = Object.freeze(policySchema.parse({ tools: { allow: ["payments.*"], deny: [] }, rules: [{ id: "big", when: WHEN[0], effect: "require_approval", approvers: { users: ["u"] }, reason: "big" }, { id: "weekend", when: WHEN[2], effect: "deny", reason: "weekend" }] }));
    const set: PolicyEntry[] = [{ level: "global", version: 1, policy }];
    const facts: PolicyFacts = { tenant: "acme", workflow: "w", input: {}, nodes: {}, counts: { steps: 1, toolCalls: 0, llmCalls: 0, iterations: 0, inputTokens: 0, outputTokens: 0 }, costUsd: 0, now: Date.parse("2026-11-28T10:00:00Z") };
    for (const amount of [5, 50_000])
      for (const tool of ["payments.create", "email.send"]) {
        const req: PolicyRequest = { action: "tool", node: "n", tool, args: { amount } };
        expectSame(decidePolicy(set, req, facts), referenceDecide(set, req, facts));
      }
  });
});
