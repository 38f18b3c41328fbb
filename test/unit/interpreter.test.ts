import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decide } from "../../src/engine/decide.ts";
import { fold } from "../../src/engine/fold.ts";
import { replay } from "../../src/engine/replay.ts";
import { defaultObserver, Harness, type Observer } from "./interpreter-harness.ts";

const agentDoc = {
  id: "wf",
  version: 1,
  provider: { kind: "scripted", script: "s" },
  scripts: { s: { turns: [{ text: "unused" }] } },
  start: "assess",
  nodes: {
    assess: { kind: "agent", model: "m", prompt: "Claim {{input.claimId}}", tools: ["lookup", "pay"], maxIterations: 3, next: "route" },
    route: { kind: "branch", cases: [{ when: "nodes.assess.output.recommendation == 'pay' && input.amount <= 100", next: "pay" }], default: "deny" },
    pay: { kind: "tool", tool: "pay", args: { amount: "{{input.amount}}" }, next: "nap" },
    nap: { kind: "wait", for: "5s", next: "paid" },
    deny: { kind: "end", output: { status: "denied" } },
    paid: { kind: "end", output: { status: "paid", amount: "{{input.amount}}" } },
  },
  tools: { lookup: { kind: "builtin", builtin: "echo" }, pay: { kind: "builtin", builtin: "echo", atMostOnce: true } },
};

/** A model that calls lookup once, then recommends paying. */
const agentObserver: Observer = (call, state) => {
  if (call.kind === "llm") {
    const iteration = state.cursor?.agent?.iteration ?? 0;
    const response =
      iteration === 1
        ? { text: null, toolCalls: [{ id: "m1", name: "lookup", args: { claimId: "C" } }], usage: { inputTokens: 10, outputTokens: 5 } }
        : { text: '{"recommendation":"pay"}', toolCalls: [], usage: { inputTokens: 20, outputTokens: 5 } };
    return { type: "llm.completed", data: { node: call.node, callId: call.callId, response } };
  }
  return defaultObserver(call, state);
};

describe("interpreter", () => {
  it("runs agent → branch → tool → wait → end with recorded decisions", () => {
    const h = new Harness(agentDoc, { claimId: "C", amount: 50 });
    let s = h.run(agentObserver);
    expect(s.status).toBe("waiting");
    expect(decide(s)).toEqual({ kind: "wait", until: s.cursor!.startedAt + 5_000 });
    s = h.run(agentObserver, { fireTimers: true });
    expect(s.status).toBe("completed");
    expect(s.output).toEqual({ status: "paid", amount: 50 });
    expect(s.counters).toMatchObject({ llmCalls: 2, toolCalls: 2, inputTokens: 30, outputTokens: 10 });
    const types = h.events.map((e) => e.type);
    expect(types).toContain("timer.scheduled");
    expect(types.filter((t) => t === "tool.started")).toHaveLength(2);
    const route = h.events.find((e) => e.type === "node.completed" && e.data.node === "route");
    expect(route?.data).toMatchObject({ next: "pay", via: "cases[0]" });
    // tool calls carry deterministic idempotency keys
    const keys = h.events.filter((e) => e.type === "tool.started").map((e) => (e.data as { idempotencyKey: string }).idempotencyKey);
    expect(keys).toEqual(["run_test/assess#1.2", "run_test/pay#1.1"]);
  });

  it("takes the default branch", () => {
    const h = new Harness(agentDoc, { claimId: "C", amount: 5000 });
    expect(h.run(agentObserver).output).toEqual({ status: "denied" });
  });

  it("returns a tool the agent may not use to the model as an error", () => {
    const h = new Harness(agentDoc, { claimId: "C", amount: 5000 });
    const s = h.run((call, state) =>
      call.kind === "llm" && state.cursor?.agent?.iteration === 1
        ? { type: "llm.completed", data: { node: call.node, callId: call.callId, response: { text: null, toolCalls: [{ id: "x", name: "shell.exec", args: {} }], usage: { inputTokens: 1, outputTokens: 1 } } } }
        : agentObserver(call, state),
    );
    const denied = h.events.find((e) => e.type === "tool.denied");
    expect(denied?.data).toMatchObject({ tool: "shell.exec", reason: expect.stringMatching(/not available/) });
    expect(s.status).toBe("completed");
  });

  it("halts an agent that never answers at maxIterations (a per-run limit, like a budget)", () => {
    const h = new Harness(agentDoc, { claimId: "C", amount: 5 });
    const s = h.run((call, state) =>
      call.kind === "llm" ? { type: "llm.completed", data: { node: call.node, callId: call.callId, response: { text: null, toolCalls: [{ id: "x", name: "lookup", args: {} }], usage: { inputTokens: 1, outputTokens: 1 } } } } : defaultObserver(call, state),
    );
    expect(s.status).toBe("halted");
    expect(s.halt).toEqual({ cause: "limit", reason: expect.stringMatching(/maxIterations \(3\)/) });
    expect(h.events.find((e) => e.type === "run.limit_reached")?.data).toMatchObject({ limit: "iterations", max: 3, used: 3 });
  });

  it("retries a retryable failure after a durable backoff timer, with the same idempotency key", () => {
    const doc = { id: "wf", version: 1, start: "t", nodes: { t: { kind: "tool", tool: "x", next: "e" }, e: { kind: "end" } }, tools: { x: { kind: "builtin", builtin: "echo" } } };
    const h = new Harness(doc);
    let failures = 0;
    const flaky: Observer = (call, state) => (failures++ < 2 ? { type: "tool.failed", data: { node: call.node, callId: call.callId, error: { message: "503", status: 503, retryable: true } } } : defaultObserver(call, state));
    let s = h.run(flaky);
    expect(s.status).toBe("waiting");
    s = h.run(flaky, { fireTimers: true });
    expect(s.status).toBe("completed");
    const starts = h.events.filter((e) => e.type === "tool.started");
    expect(starts.map((e) => (e.data as { attempt: number }).attempt)).toEqual([1, 2, 3]);
    expect(new Set(starts.map((e) => (e.data as { idempotencyKey: string }).idempotencyKey)).size).toBe(1);
  });

  it("gives up after the attempts run out and routes to onError when declared", () => {
    const doc = { id: "wf", version: 1, start: "t", nodes: { t: { kind: "tool", tool: "x", next: "e", onError: "oops" }, e: { kind: "end" }, oops: { kind: "end", output: "{{nodes.t.output.error}}" } }, tools: { x: { kind: "builtin", builtin: "echo" } } };
    const h = new Harness(doc);
    const s = h.run((call) => ({ type: "tool.failed", data: { node: call.node, callId: call.callId, error: { message: "bad request", status: 400, retryable: false } } }));
    expect(s.status).toBe("completed");
    expect(s.output).toMatch(/failed after 1 attempt\(s\): bad request/);
  });

  it("an interrupted atMostOnce call stops for a human; an ordinary one is retried with the same key", () => {
    const h = new Harness(agentDoc, { claimId: "C", amount: 50 });
    // run until the pay tool (atMostOnce) is started, then simulate a crash before its result
    for (;;) {
      const d = decide(h.state);
      if (d.kind === "execute" && d.call.tool === "pay" && d.call.node === "pay") break;
      if (d.kind === "append") d.events.forEach((e) => h.push(e));
      else if (d.kind === "execute") h.push(agentObserver(d.call, h.state));
    }
    const callId = h.state.call!.callId;
    h.push({ type: "run.recovered", data: { interrupted: [callId] } });
    let s = h.run(agentObserver);
    expect(s.status).toBe("needs_attention");
    h.push({ type: "run.attention_resolved", data: { actor: { sub: "ops", roles: ["operator"] }, action: "complete", result: { confirmed: true } } });
    s = h.run(agentObserver, { fireTimers: true });
    expect(s.status).toBe("completed");
    expect(s.nodes.pay.output).toEqual({ confirmed: true });
    expect(h.events.filter((e) => e.type === "tool.started" && e.data.tool === "pay" && e.data.node === "pay")).toHaveLength(1);

    const h2 = new Harness(agentDoc, { claimId: "C", amount: 50 });
    const d = decide(h2.state);
    if (d.kind === "append") d.events.forEach((e) => h2.push(e));
    const d2 = decide(h2.state);
    if (d2.kind === "append") d2.events.forEach((e) => h2.push(e)); // llm.started
    h2.push({ type: "run.recovered", data: { interrupted: [h2.state.call!.callId] } });
    const retry = decide(h2.state);
    expect(retry.kind).toBe("append");
    if (retry.kind === "append") expect(retry.events[0]).toMatchObject({ type: "llm.started", data: { attempt: 2, idempotencyKey: "run_test/assess#1.1" } });
  });

  it("pause stops decisions, resume continues, halt is final", () => {
    const h = new Harness(agentDoc, { claimId: "C", amount: 50 });
    h.push({ type: "run.paused", data: { actor: { sub: "ops", roles: ["operator"] } } });
    expect(decide(h.state)).toEqual({ kind: "idle", reason: "paused" });
    expect(h.state.status).toBe("paused");
    h.push({ type: "run.resumed", data: { actor: { sub: "ops", roles: ["operator"] } } });
    expect(decide(h.state).kind).toBe("append");
    h.push({ type: "run.halted", data: { actor: { sub: "ops", roles: ["operator"] } } });
    expect(h.state.status).toBe("halted");
    expect(decide(h.state)).toEqual({ kind: "idle", reason: "halted" });
  });

  it("stops a loop at the step limit", () => {
    const doc = { id: "wf", version: 1, limits: { maxSteps: 25 }, start: "a", nodes: { a: { kind: "branch", cases: [{ when: "true", next: "b" }], default: "e" }, b: { kind: "tool", tool: "x", next: "a" }, e: { kind: "end" } }, tools: { x: { kind: "builtin", builtin: "echo" } } };
    const s = new Harness(doc).run();
    expect(s.status).toBe("halted");
    expect(s.halt).toEqual({ cause: "limit", reason: expect.stringMatching(/step limit reached \(25 steps\)/) });
  });
});

describe("replay", () => {
  it("reproduces every decision of a recorded run, and fold(events) equals the incremental state", () => {
    const h = new Harness(agentDoc, { claimId: "C", amount: 50 });
    h.run(agentObserver, { fireTimers: true });
    const r = replay(h.events);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.decisions).toBeGreaterThan(10);
    expect(fold(h.events)).toEqual(h.state);
  });

  it("names the first divergent event when a decision was tampered with", () => {
    const h = new Harness(agentDoc, { claimId: "C", amount: 50 });
    h.run(agentObserver, { fireTimers: true });
    const tampered = structuredClone(h.events);
    const i = tampered.findIndex((e) => e.type === "tool.started" && e.data.node === "pay");
    (tampered[i].data as { args: unknown }).args = { amount: 5000 };
    const r = replay(tampered);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.seq).toBe(tampered[i].seq);
      expect(r.message).toMatch(/tool.started/);
    }
  });

  it("detects a decision the interpreter would not make (different workflow behaviour)", () => {
    const h = new Harness(agentDoc, { claimId: "C", amount: 50 });
    h.run(agentObserver, { fireTimers: true });
    const tampered = structuredClone(h.events);
    const i = tampered.findIndex((e) => e.type === "node.completed" && e.data.node === "route");
    (tampered[i].data as { next: string }).next = "deny";
    const r = replay(tampered);
    expect(!r.ok && r.seq).toBe(tampered[i].seq);
  });

  it("property: any interleaving of crashes, pauses and transient failures replays and completes each call once", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("ok", "crash", "pause", "fail"), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 200 }), (script, amount) => {
        const h = new Harness(agentDoc, { claimId: "C", amount });
        let k = 0;
        for (let guard = 0; guard < 500 && !h.state.terminal; guard++) {
          const d = decide(h.state);
          const what = script[k++ % script.length];
          if (d.kind === "append") d.events.forEach((e) => h.push(e));
          else if (d.kind === "execute") {
            if (what === "crash") h.push({ type: "run.recovered", data: { interrupted: [d.call.callId] } });
            else if (what === "pause") {
              h.push({ type: "run.paused", data: { actor: { sub: "o", roles: [] } } });
              h.push({ type: "run.resumed", data: { actor: { sub: "o", roles: [] } } });
              h.push(agentObserver(d.call, h.state));
            } else if (what === "fail" && d.call.attempt < 3) h.push({ type: d.call.kind === "llm" ? "llm.failed" : "tool.failed", data: { node: d.call.node, callId: d.call.callId, error: { message: "503", retryable: true } } } as never);
            else h.push(agentObserver(d.call, h.state));
          } else if (d.kind === "wait") {
            const id = h.state.cursor?.timer?.timerId ?? h.state.call?.retryTimerId;
            h.push({ type: "timer.fired", data: { timerId: id! } }, 10_000);
          } else if (h.state.attention) {
            h.push({ type: "run.attention_resolved", data: { actor: { sub: "o", roles: [] }, action: "fail" } });
          } else break;
        }
        expect(["completed", "failed"]).toContain(h.state.status);
        const r = replay(h.events);
        expect(r.ok).toBe(true);
        expect(fold(h.events)).toEqual(h.state);
        // every call id that completed has exactly one completion
        const completions = h.events.filter((e) => e.type === "tool.completed" || e.type === "llm.completed").map((e) => (e.data as { callId: string }).callId);
        expect(new Set(completions).size).toBe(completions.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe("replay of logs that cannot be folded", () => {
  it("throws ReplayError naming the seq for an empty log, a gap, or an impossible event", async () => {
    const { ReplayError } = await import("../../src/engine/replay.ts");
    expect(() => replay([])).toThrow(ReplayError);
    const h = new Harness(agentDoc, { claimId: "C", amount: 50 });
    h.run(agentObserver, { fireTimers: true });
    const gap = h.events.filter((e) => e.seq !== 3);
    expect(() => replay(gap)).toThrow(/seq 4: .*gap/);
    const impossible = structuredClone(h.events);
    impossible.splice(2, 0, { ...impossible[0], seq: 3 });
    impossible.forEach((e, i) => (e.seq = i + 1));
    expect(() => replay(impossible)).toThrow(/seq 3: run.started cannot be applied/);
  });
});
