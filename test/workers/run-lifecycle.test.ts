import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, events, publish, runStubFor, settle, startRun, tokenFor, recordedCalls } from "./helpers.ts";

const svc = () => env.FAKE_SERVICES_URL;

function claimsWorkflow(id = "claims") {
  return {
    id,
    version: 1,
    input: { type: "object", required: ["claimId", "amount"], properties: { claimId: { type: "string" }, amount: { type: "number" } } },
    provider: { kind: "scripted", script: "s" },
    scripts: {
      s: {
        turns: [
          { tool_calls: [{ name: "claims.lookup", args: { claimId: "{{input.claimId}}" } }] },
          { text: '{"recommendation": "pay", "summary": "ok"}', usage: { input_tokens: 100, output_tokens: 20 } },
        ],
      },
    },
    start: "assess",
    nodes: {
      assess: { kind: "agent", model: "scripted", prompt: "Claim {{input.claimId}} for {{input.amount}}", tools: ["claims.lookup"], maxIterations: 4, next: "route" },
      route: { kind: "branch", cases: [{ when: "nodes.assess.output.recommendation == 'pay' && input.amount <= 10000", next: "pay" }], default: "deny" },
      pay: { kind: "tool", tool: "payments.create", args: { claimId: "{{input.claimId}}", amount: "{{input.amount}}" }, next: "paid" },
      deny: { kind: "end", output: { status: "denied" } },
      paid: { kind: "end", output: { status: "paid", claim: "{{input.claimId}}" } },
    },
    tools: {
      "claims.lookup": { kind: "http", method: "GET", url: `${svc()}/tools/claims/{{args.claimId}}`, headers: { authorization: "Bearer {{secrets.FRAUD_KEY}}" } },
      "payments.create": { kind: "http", method: "POST", url: `${svc()}/tools/payments`, atMostOnce: true },
    },
  };
}

describe("run lifecycle", () => {
  it("publishes, runs to completion, and exports the log", async () => {
    const token = await tokenFor("acme");
    const wf = await publish(token, claimsWorkflow());
    expect(wf).toMatchObject({ id: "claims", version: 1 });
    expect(wf.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const run = await startRun(token, "claims", { claimId: "C-1", amount: 500 });
    expect(run.status).toBe("running");
    const done = await settle(token, run.id);
    expect(done.status).toBe("completed");
    expect(done.output).toEqual({ status: "paid", claim: "C-1" });
    const log = await events(token, run.id);
    expect(log[0].type).toBe("run.started");
    expect(log[0].data.workflow).toMatchObject({ id: "claims", hash: wf.hash });
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    const calls = await recordedCalls(run.id);
    expect(calls.map((c) => c.path)).toEqual(["/tools/claims/C-1", "/tools/payments"]);
    expect(calls[0].authorization).toBe("Bearer fraud-key-from-secrets");
    expect(calls[1].body).toEqual({ claimId: "C-1", amount: 500 });
    expect(JSON.stringify(log)).not.toContain("fraud-key-from-secrets");
  });

  it("a new run is in its tenant's index when its start answers: the run delivers it through its outbox before its first step", async () => {
    const token = await tokenFor("acme-index");
    await publish(token, claimsWorkflow("indexed"));
    const key = { "idempotency-key": "index-me-once" };
    const run = await startRun(token, "indexed", { claimId: "C-9", amount: 50 }, key);
    const listed = (await (await api("/v1/runs?workflow=indexed", { token })).json()) as { items: Array<{ id: string }> };
    expect(listed.items.map((r) => r.id)).toContain(run.id);
    await runInDurableObject(runStubFor(run.id), (_i: unknown, state: DurableObjectState) => {
      // delivered and acknowledged: no index row waits in the outbox
      expect(state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM outbox WHERE kind = 'index'`).one().n).toBe(0);
    });
    // the client's retry with the same key answers with the same run, still listed once
    const again = await startRun(token, "indexed", { claimId: "C-9", amount: 50 }, key);
    expect(again.id).toBe(run.id);
    const relisted = (await (await api("/v1/runs?workflow=indexed", { token })).json()) as { items: Array<{ id: string }> };
    expect(relisted.items.filter((r) => r.id === run.id)).toHaveLength(1);
    await settle(token, run.id);
  });

  it("rejects an invalid workflow with every error and changes nothing", async () => {
    const token = await tokenFor("acme2");
    const bad = { ...claimsWorkflow("bad"), start: "nowhere", nodes: { ...claimsWorkflow().nodes, route: { kind: "branch", cases: [{ when: "1 +", next: "ghost" }], default: "deny" } } };
    const res = await api("/v1/workflows", { method: "POST", token, json: bad });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const body = (await res.json()) as { errors: Array<{ path: string; message: string }> };
    const paths = body.errors.map((e) => e.path);
    expect(paths).toContain("start");
    expect(paths).toContain("nodes.route.cases[0].next");
    expect(paths).toContain("nodes.route.cases[0].when");
    const list = await api("/v1/workflows", { token });
    expect(((await list.json()) as { items: unknown[] }).items).toEqual([]);
  });
});
