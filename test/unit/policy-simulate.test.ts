import { describe, expect, it } from "vitest";
import { simulate } from "../../src/policy/simulate.ts";
import { Harness } from "./interpreter-harness.ts";

const doc = {
  id: "wf",
  version: 1,
  start: "lookup",
  nodes: { lookup: { kind: "tool", tool: "claims.lookup", args: { id: "C" }, next: "pay" }, pay: { kind: "tool", tool: "payments.create", args: { amount: "{{input.amount}}" }, next: "done" }, done: { kind: "end" } },
  tools: { "claims.lookup": { kind: "builtin", builtin: "echo" }, "payments.create": { kind: "builtin", builtin: "echo" } },
};

function recordedRun(amount: number) {
  const h = new Harness(doc, { amount });
  h.push({ type: "policy.loaded", data: { hash: "sha256:p1", nodeHashes: {}, entries: [{ level: "tenant", version: 1, policy: { tools: { deny: ["shell.*"] } } }] } });
  h.run();
  return h;
}

describe("policy simulation", () => {
  it("lists exactly the decisions a proposed policy would change", () => {
    const h = recordedRun(20000);
    expect(h.state.status).toBe("completed");
    const decisions = h.events.filter((e) => e.type === "policy.decision");
    expect(decisions).toHaveLength(2);
    const sim = simulate(h.events, "tenant", { rules: [{ id: "big", when: "call.tool == 'payments.create' && double(call.args.amount) > 10000.0", effect: "require_approval", approvers: { roles: ["sup"] }, reason: "big" }] });
    expect(sim.decisions).toBe(2);
    expect(sim.changed).toHaveLength(1);
    expect(sim.changed[0]).toMatchObject({ node: "pay", recorded: { effect: "allow" }, proposed: { effect: "require_approval", rules: ["big"] } });
    expect(simulate(recordedRun(50).events, "tenant", { rules: [{ id: "big", when: "call.tool == 'payments.create' && double(call.args.amount) > 10000.0", effect: "deny", reason: "big" }] }).changed).toEqual([]);
  });

  it("a proposal at a level replaces the registry policy there: relaxing is visible too", () => {
    const h = new Harness(doc, { amount: 5 });
    h.push({ type: "policy.loaded", data: { hash: "sha256:p1", nodeHashes: {}, entries: [{ level: "tenant", version: 3, policy: { tools: { deny: ["payments.*"] } } }] } });
    const s = h.run();
    expect(s.status).toBe("failed");
    const sim = simulate(h.events, "tenant", {});
    expect(sim.changed).toEqual([expect.objectContaining({ node: "pay", recorded: expect.objectContaining({ effect: "deny" }), proposed: expect.objectContaining({ effect: "allow" }) })]);
  });
});
