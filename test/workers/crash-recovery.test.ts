/**
 * Crash recovery, proven by killing the run's Durable Object after every k-th event (evicted,
 * and separately hard-aborted), and by aborting it after a call returned but before its result
 * was recorded. Each run must end exactly like an uninterrupted one, and the counting fake
 * model and tool servers must have seen exactly one logical call (one idempotency key) per
 * completed step; a repeated request is only ever the in-flight step, with the same key.
 */
import { env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { runIdForKey } from "../../src/api/run-ids.ts";
import { parseEvent } from "../../src/engine/events.ts";
import { replay } from "../../src/engine/replay.ts";
import type { Fault } from "../../durable-objects/agent-run.ts";
import { api, events, publish, recordedCalls, runRpc, runStubFor, settle, slowFlow, startRun, tokenFor } from "./helpers.ts";

const TENANT = "crashy";

function workflow() {
  const svc = env.FAKE_SERVICES_URL;
  return {
    id: "crash-flow",
    version: 1,
    provider: { kind: "openai", baseUrl: `${svc}/v1` },
    start: "classify",
    nodes: {
      classify: { kind: "llm", model: "fake-1", prompt: "Classify claim {{input.claimId}}", next: "lookup" },
      lookup: { kind: "tool", tool: "claims.lookup", args: { claimId: "{{input.claimId}}" }, next: "assess" },
      assess: { kind: "agent", model: "fake-1", prompt: "Assess claim {{input.claimId}}", tools: ["fraud.score"], maxIterations: 4, next: "nap" },
      nap: { kind: "wait", for: "1ms", next: "pay" },
      pay: { kind: "tool", tool: "payments.create", args: { claimId: "{{input.claimId}}", risk: "{{nodes.classify.output.risk}}" }, next: "done" },
      done: { kind: "end", output: { risk: "{{nodes.classify.output.risk}}", recommendation: "{{nodes.assess.output.recommendation}}", paid: "{{nodes.pay.output.ok}}" } },
    },
    tools: {
      "claims.lookup": { kind: "http", method: "GET", url: `${svc}/tools/claims/{{args.claimId}}` },
      "fraud.score": { kind: "http", method: "POST", url: `${svc}/tools/fraud` },
      "payments.create": { kind: "http", method: "POST", url: `${svc}/tools/payments` },
    },
  };
}

const EXPECTED_OUTPUT = { risk: "low", recommendation: "pay", paid: true };

async function runWithFault(token: string, key: string, fault: Fault | null, evict: boolean) {
  const runId = await runIdForKey(TENANT, key);
  if (fault) await runRpc(runId).injectFault(fault);
  // the object may die while the start request is still open: a client retries with the same key
  for (let attempt = 0; ; attempt++) {
    const res = await api("/v1/runs", { method: "POST", token, json: { workflow: "crash-flow", input: { claimId: `C-${key}` } }, headers: { "idempotency-key": key } });
    if (res.status < 300) break;
    if (res.status < 500 || attempt > 3) throw new Error(`start failed ${res.status}: ${await res.text()}`);
  }
  if (evict) {
    // wait for the injected stop, then evict the object (its in-memory state is gone)
    for (let i = 0; i < 400; i++) {
      const log = await events(token, runId);
      if (log.length >= (fault?.seq ?? 0)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    let evicted = false;
    let lastError = "";
    for (let attempt = 0; attempt < 40 && !evicted; attempt++) {
      try {
        await evictDurableObject(runStubFor(runId));
        evicted = true;
      } catch (err) {
        lastError = String(err);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    if (!evicted) throw new Error(`could not evict ${runId}: ${lastError}`);
  }
  const final = await settle(token, runId);
  return { runId, final, log: await events(token, runId), calls: await recordedCalls(runId) };
}

function completedCallIds(log: Array<{ type: string; data: Record<string, unknown> }>) {
  return log.filter((e) => e.type === "llm.completed" || e.type === "tool.completed").map((e) => e.data.callId as string);
}

describe("crash recovery", () => {
  it("finishes identically, with one call per completed step, whatever event the object dies after", async () => {
    const token = await tokenFor(TENANT, ["admin"]);
    await publish(token, workflow());
    const base = await runWithFault(token, "baseline", null, false);
    expect(base.final.status).toBe("completed");
    expect(base.final.output).toEqual(EXPECTED_OUTPUT);
    const steps = completedCallIds(base.log);
    expect(steps.length).toBe(6); // classify, lookup, assess (model, fraud.score, model), pay
    expect(new Set(base.calls.map((c) => c.idempotencyKey)).size).toBe(steps.length);
    expect(base.calls.length).toBe(steps.length);
    const total = base.log.length;

    for (const how of ["stop", "abort"] as const) {
      for (let k = 1; k < total; k++) {
        const key = `${how}-${k}`;
        const r = await runWithFault(token, key, { at: "after-append", seq: k, how }, how === "stop");
        const where = `${how} after event ${k}`;
        expect(r.final.status, where).toBe("completed");
        expect(r.final.output, where).toEqual(EXPECTED_OUTPUT);
        const keys = r.calls.map((c) => c.idempotencyKey);
        expect(new Set(keys).size, where).toBe(steps.length);
        const recovered = r.log.filter((e) => e.type === "run.recovered");
        // only an in-flight step may be sent twice, and then with the same key
        expect(keys.length - new Set(keys).size, where).toBeLessThanOrEqual(recovered.length);
        expect(completedCallIds(r.log).length, where).toBe(steps.length);
        const parsed = r.log.map((e, i) => parseEvent(e, `line ${i + 1}`));
        expect(replay(parsed).ok, where).toBe(true);
      }
    }
  });

  it("retries a call whose result was lost mid-request with the same idempotency key, never a completed one", async () => {
    const token = await tokenFor(TENANT, ["admin"]);
    await publish(token, workflow());
    const base = await runWithFault(token, "baseline-2", null, false);
    const starts = base.log.filter((e) => e.type === "llm.started" || e.type === "tool.started").map((e) => e.seq);
    for (const seq of starts) {
      const key = `effect-${seq}`;
      const r = await runWithFault(token, key, { at: "after-effect", seq, how: "abort" }, false);
      const where = `abort after the call started at event ${seq} returned`;
      expect(r.final.status, where).toBe("completed");
      expect(r.final.output, where).toEqual(EXPECTED_OUTPUT);
      const keys = r.calls.map((c) => c.idempotencyKey);
      expect(new Set(keys).size, where).toBe(completedCallIds(base.log).length);
      expect(keys.length, where).toBe(new Set(keys).size + 1); // exactly the lost one was repeated
      const recovered = r.log.find((e) => e.type === "run.recovered");
      expect(recovered, where).toBeDefined();
    }
  });

  it("stops an interrupted atMostOnce call for a human instead of repeating it", async () => {
    const token = await tokenFor(TENANT, ["admin", "operator"]);
    const wf = workflow();
    (wf.tools["payments.create"] as Record<string, unknown>).atMostOnce = true;
    wf.id = "crash-flow-amo";
    await publish(token, wf);
    const base = await (async () => {
      await startRun(token, "crash-flow-amo", { claimId: "amo-base" }, { "idempotency-key": "amo-base" });
      const id = await runIdForKey(TENANT, "amo-base");
      await settle(token, id);
      return events(token, id);
    })();
    const payStart = base.find((e) => e.type === "tool.started" && e.data.tool === "payments.create")!.seq;
    const runId = await runIdForKey(TENANT, "amo-1");
    await runRpc(runId).injectFault({ at: "after-effect", seq: payStart, how: "abort" });
    await startRun(token, "crash-flow-amo", { claimId: "amo-1" }, { "idempotency-key": "amo-1" });
    const stuck = await settle(token, runId);
    expect(stuck.status).toBe("needs_attention");
    expect((stuck.attention as { reason: string }).reason).toMatch(/atMostOnce/);
    const payCalls = (await recordedCalls(runId)).filter((c) => c.path === "/tools/payments");
    expect(payCalls).toHaveLength(1);
    // a person confirms the payout happened; the run finishes without paying again
    const { api } = await import("./helpers.ts");
    const res = await api(`/v1/runs/${runId}/resolve`, { method: "POST", token, json: { action: "complete", result: { ok: true }, comment: "payout seen in bank statement" } });
    expect(res.status).toBe(200);
    const done = await settle(token, runId);
    expect(done.status).toBe("completed");
    expect((await recordedCalls(runId)).filter((c) => c.path === "/tools/payments")).toHaveLength(1);
  });

  it("a request waiting on a run (?wait=S) whose object dies meanwhile is answered by the object's next instance", async () => {
    const token = await tokenFor(TENANT);
    await publish(token, slowFlow("crash-flow-wait", 600));
    const runId = await runIdForKey(TENANT, "wait-1");
    // the object dies once the slow call returns, before recording it
    await runRpc(runId).injectFault({ at: "after-effect", seq: 0, how: "abort" });
    await startRun(token, "crash-flow-wait", {}, { "idempotency-key": "wait-1" });
    const waited = await api(`/v1/runs/${runId}?wait=20`, { token });
    expect(waited.status).toBe(200);
    const body = (await waited.json()) as { id: string; status: string };
    expect(body.id).toBe(runId);
    expect(["running", "waiting", "completed"]).toContain(body.status);
    const done = await settle(token, runId);
    expect(done.status).toBe("completed");
    const log = await events(token, runId);
    expect(log.some((e) => e.type === "run.recovered")).toBe(true);
  });
});
