import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decidePolicy, toolGuardOf, type PolicyEntry, type PolicyFacts, type PolicyRequest } from "../../src/policy/policy-decision.ts";
import { parsePolicy, policySchema, type PolicyLevel } from "../../src/policy/policy-schema.ts";

const facts: PolicyFacts = { tenant: "t", workflow: "wf", input: { amount: 20000 }, nodes: {}, counts: { steps: 3, toolCalls: 2, llmCalls: 1, iterations: 1, inputTokens: 0, outputTokens: 0 }, costUsd: 0.5, now: Date.parse("2026-11-28T10:00:00Z") };
const entry = (level: PolicyLevel, p: unknown): PolicyEntry => ({ level, version: 1, policy: policySchema.parse(p) });
const tool = (name: string, args: unknown = {}): PolicyRequest => ({ action: "tool", node: "n", tool: name, args });

describe("policy decision: examples", () => {
  it("any deny wins, allowlists intersect, absent lists restrict nothing", () => {
    const set = [entry("global", { tools: { deny: ["fs.*", "shell.*"] } }), entry("tenant", { tools: { allow: ["claims.*", "payments.*"] } }), entry("workflow", { tools: { allow: ["claims.*", "fraud.*"] } })];
    expect(decidePolicy(set, tool("claims.lookup"), facts).effect).toBe("allow");
    const pay = decidePolicy(set, tool("payments.create"), facts);
    expect(pay.effect).toBe("deny");
    expect(pay.reason).toMatch(/not in the tool allowlist of the workflow policy/);
    expect(decidePolicy(set, tool("shell.exec"), facts).reason).toMatch(/denied by the global policy \(pattern shell\.\*\)/);
    expect(decidePolicy([entry("global", {})], tool("anything"), facts).effect).toBe("allow");
  });

  it("rules: require_approval beats allow, the strictest approver set wins, matched rule ids are recorded", () => {
    const set = [
      entry("global", { rules: [{ id: "big-payout", when: "call.tool == 'payments.create' && double(call.args.amount) > 10000.0", effect: "require_approval", approvers: { roles: ["supervisor"], quorum: 1 }, reason: "Payouts above 10,000 need a supervisor." }] }),
      entry("workflow", { rules: [{ id: "very-big", when: "call.tool == 'payments.create' && double(call.args.amount) > 15000.0", effect: "require_approval", approvers: { roles: ["manager"], quorum: 2 }, reason: "Very large payouts need two managers." }, { id: "ok", when: "true", effect: "allow", reason: "fine" }] }),
    ];
    const d = decidePolicy(set, tool("payments.create", { amount: 20000 }), facts);
    expect(d.effect).toBe("require_approval");
    expect(d.rules.sort()).toEqual(["big-payout", "ok", "very-big"]);
    expect(d.approvers).toEqual({ users: [], roles: ["manager"], quorum: 2 });
    expect(decidePolicy(set, tool("payments.create", { amount: 500 }), facts).effect).toBe("allow");
  });

  it("time comes from the run's log (weekend rule), models and egress allowlists, limits", () => {
    const set = [entry("global", { models: { allow: ["gpt-4.1*", "scripted"] }, egress: { allow: ["claims.example", "*.fraud.example"] }, limits: { maxToolCalls: 2 }, rules: [{ id: "no-weekend-pay", when: "call.tool == 'payments.create' && now.getDayOfWeek() in [0, 6]", effect: "deny", reason: "No payouts at weekends." }] })];
    expect(decidePolicy(set, tool("payments.create"), facts).rules).toContain("no-weekend-pay"); // 2026-11-28 is a Saturday
    expect(decidePolicy(set, tool("payments.create"), { ...facts, now: Date.parse("2026-11-25T10:00:00Z"), counts: { ...facts.counts, toolCalls: 0 } }).effect).toBe("allow");
    expect(decidePolicy(set, { action: "llm", node: "n", model: "claude-3" }, facts).reason).toMatch(/model "claude-3" is not in the model allowlist/);
    expect(decidePolicy(set, { action: "llm", node: "n", model: "gpt-4.1-mini" }, facts).effect).toBe("allow");
    expect(decidePolicy(set, { action: "egress", node: "n", host: "api.fraud.example" }, facts).effect).toBe("allow");
    expect(decidePolicy(set, { action: "egress", node: "n", host: "evil.example" }, facts).effect).toBe("deny");
    expect(decidePolicy(set, tool("claims.lookup"), facts).reason).toMatch(/at most 2 tool calls/);
  });

  it("shadow records what it would do and never blocks", () => {
    const set = [entry("global", {}), entry("tenant", { mode: "shadow", tools: { deny: ["payments.*"] } })];
    const d = decidePolicy(set, tool("payments.create"), facts);
    expect(d.effect).toBe("allow");
    expect(d.shadow).toMatchObject({ effect: "deny" });
  });

  it("a deny rule that cannot be evaluated fails closed; other rules simply do not match", () => {
    const set = [entry("global", { rules: [{ id: "d", when: "call.args.missing > 1", effect: "deny", reason: "x" }, { id: "a", when: "call.args.missing > 1", effect: "require_approval", approvers: { users: ["a"] }, reason: "y" }] })];
    const d = decidePolicy(set, tool("t"), facts);
    expect(d.effect).toBe("deny");
    expect(d.reason).toMatch(/could not be evaluated/);
  });

  it("tool guards only skip rules that could not match", () => {
    expect(toolGuardOf("call.tool == 'a' && x > 1")).toBe("a");
    expect(toolGuardOf("call.tool == 'a' || x > 1")).toBeNull();
    expect(toolGuardOf("(call.tool == 'a') || x")).toBeNull();
    expect(toolGuardOf("x && call.tool == 'a'")).toBeNull();
  });

  it("rejects bad policies precisely: which rule, which position", () => {
    const r = parsePolicy({ rules: [{ id: "ok", when: "true", effect: "allow", reason: "r" }, { id: "bad", when: "call.tool == ", effect: "deny", reason: "r" }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatchObject({ path: "rules[1].when", message: expect.stringMatching(/rule "bad"/) });
    const low = parsePolicy({ retention: { days: 30 } });
    expect(!low.ok && low.errors[0].message).toMatch(/183-day floor/);
    const noApprovers = parsePolicy("rules:\n  - { id: x, when: 'true', effect: require_approval, reason: r }\n");
    expect(!noApprovers.ok && noApprovers.errors[0].path).toBe("rules[0].approvers");
  });
});

describe("policy decision: properties", () => {
  const names = ["a.x", "a.y", "b.x", "c.z"];
  const patterns = fc.constantFrom("a.*", "b.*", "*.x", "c.z", "*");
  const policyArb = fc.record({
    mode: fc.constantFrom("enforce", "enforce", "shadow"),
    tools: fc.option(fc.record({ allow: fc.option(fc.array(patterns, { maxLength: 3 }), { nil: undefined }), deny: fc.array(patterns, { maxLength: 2 }) }), { nil: undefined }),
    rules: fc.array(fc.record({ cond: fc.constantFrom("true", "false", "call.tool == 'a.x'", "call.tool.startsWith('b')"), effect: fc.constantFrom("allow", "deny", "require_approval"), quorum: fc.integer({ min: 1, max: 4 }) }), { maxLength: 3 }),
  });
  const levelsArb = fc.array(policyArb, { minLength: 1, maxLength: 4 }).map((ps) =>
    ps.map((p, i) =>
      entry((["global", "tenant", "workflow", "node"] as const)[i], {
        mode: p.mode,
        ...(p.tools ? { tools: p.tools } : {}),
        rules: p.rules.map((r, j) => ({ id: `r${i}-${j}`, when: r.cond, effect: r.effect, reason: `reason ${i}-${j}`, ...(r.effect === "require_approval" ? { approvers: { roles: [`role${i}`], quorum: r.quorum } } : {}) })),
      }),
    ),
  );
  const RANK = { allow: 0, require_approval: 1, deny: 2 } as const;

  it("the decision is the most restrictive enforce level; shadow levels never change it; level order does not matter", () => {
    fc.assert(
      fc.property(levelsArb, fc.constantFrom(...names), (set, name) => {
        const d = decidePolicy(set, tool(name), facts);
        const enforced = d.levels.filter((l) => l.mode === "enforce");
        const max = enforced.reduce((m, l) => (RANK[l.effect] > RANK[m] ? l.effect : m), "allow" as keyof typeof RANK);
        expect(d.effect).toBe(max);
        if (enforced.some((l) => l.effect === "deny")) expect(d.effect).toBe("deny");
        const withoutShadow = decidePolicy(set.filter((e) => e.policy.mode === "enforce"), tool(name), facts);
        expect(withoutShadow.effect).toBe(d.effect);
        expect(decidePolicy([...set].reverse(), tool(name), facts).effect).toBe(d.effect);
      }),
      { numRuns: 500 },
    );
  });

  it("allowlists intersect: with no rules and no denies, a tool is allowed iff every enforce level's allowlist (when present) matches it", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ allow: fc.option(fc.array(patterns, { maxLength: 3 }), { nil: undefined }) }), { minLength: 1, maxLength: 4 }), fc.constantFrom(...names), (lists, name) => {
        const set = lists.map((l, i) => entry((["global", "tenant", "workflow", "node"] as const)[i], l.allow ? { tools: { allow: l.allow } } : {}));
        const expected = lists.every((l) => !l.allow || l.allow.some((p) => new RegExp(`^${p.replace(/\./g, "\\.").replace(/\*/g, ".*")}$`).test(name)));
        expect(decidePolicy(set, tool(name), facts).effect).toBe(expected ? "allow" : "deny");
      }),
      { numRuns: 500 },
    );
  });

  it("adding a level never makes a decision less restrictive (monotonic)", () => {
    fc.assert(
      fc.property(levelsArb, policyArb, fc.constantFrom(...names), (set, extra, name) => {
        const before = decidePolicy(set.slice(0, 3), tool(name), facts).effect;
        const more = [...set.slice(0, 3), entry("node", { mode: extra.mode, ...(extra.tools ? { tools: extra.tools } : {}) })];
        expect(RANK[decidePolicy(more, tool(name), facts).effect]).toBeGreaterThanOrEqual(RANK[before]);
      }),
      { numRuns: 500 },
    );
  });

  it("require_approval carries the strictest approver set (highest quorum)", () => {
    fc.assert(
      fc.property(levelsArb, fc.constantFrom(...names), (set, name) => {
        const d = decidePolicy(set, tool(name), facts);
        if (d.effect !== "require_approval") return;
        const quorums = d.levels.filter((l) => l.mode === "enforce" && l.effect === "require_approval").map((l) => l.approvers?.quorum ?? 0);
        expect(d.approvers?.quorum).toBe(Math.max(...quorums));
      }),
      { numRuns: 500 },
    );
  });
});
