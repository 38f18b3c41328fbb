/** The budget in the interpreter: reservation decisions, refusals halt, settlement jobs, recovery, replay. */
import { describe, expect, it } from "vitest";
import { decide } from "../../src/engine/decide.ts";
import { replay } from "../../src/engine/replay.ts";
import { breachFacts, settleJobs } from "../../src/budget/settlement.ts";
import { Harness } from "./interpreter-harness.ts";

const doc = {
  id: "wf",
  version: 1,
  start: "ask",
  nodes: { ask: { kind: "llm", model: "m", prompt: "hello", maxTokens: 100, next: "done" }, done: { kind: "end" } },
};

function governed(policy: Record<string, unknown>) {
  const h = new Harness(doc);
  h.push({ type: "policy.loaded", data: { hash: "h", nodeHashes: {}, entries: [{ level: "tenant", version: 1, policy: { prices: { "scripted/*": { input: 1000, output: 1000 } }, ...policy } }] } });
  h.run(); // node.started, policy.decision, budget.requested
  return h;
}

describe("budget gate", () => {
  it("requests the worst case against the tenant's and the workflow's budgets, then waits for the reservation", () => {
    const h = governed({ limits: { maxCostUsdPerDay: 3 } });
    const req = h.events.find((e) => e.type === "budget.requested")!;
    expect(req.data).toMatchObject({ callId: "ask#1.1", attempt: 1, estimate: { outputTokens: 100 }, scopes: [{ scope: "tenant", name: "tenant:t", limits: { day: { usdMicros: 3_000_000 } } }, { scope: "workflow", name: "workflow:t:wf", limits: {} }] });
    const d = decide(h.state);
    expect(d.kind).toBe("reserve");
  });

  it("starts the call once reserved, and settles it at its actual cost when it completes", () => {
    const h = governed({});
    const rid = (h.events.find((e) => e.type === "budget.requested")!.data as { reservationId: string }).reservationId;
    h.push({ type: "budget.reserved", data: { reservationId: rid, scopes: [] } });
    expect(decide(h.state)).toMatchObject({ kind: "append", events: [{ type: "llm.started" }] });
    h.push((decide(h.state) as Extract<ReturnType<typeof decide>, { kind: "append" }>).events[0]);
    const before = h.state;
    h.push({ type: "llm.completed", data: { node: "ask", callId: "ask#1.1", response: { text: "ok", toolCalls: [], usage: { inputTokens: 5, outputTokens: 20 } } } });
    expect(settleJobs(before, h.state)).toEqual([{ reservationId: rid, runId: "run_test", scopes: ["tenant:t", "workflow:t:wf"], actual: { usdMicros: 25_000, tokens: 25 }, release: false }]);
    expect(h.state.budget.spent).toEqual({ usdMicros: 25_000, tokens: 25 });
    h.push({ type: "budget.settled", data: { reservationId: rid, outcome: "settled", actual: { usdMicros: 25_000, tokens: 25 }, scopes: ["tenant:t", "workflow:t:wf"] } });
    expect(h.state.budget.open).toEqual({});
    expect(h.run().status).toBe("completed");
    expect(replay(h.events).ok).toBe(true);
  });

  it("a refusal halts the run before the call, with the breach to notify, and releases the reservation", () => {
    const h = governed({});
    const rid = (h.events.find((e) => e.type === "budget.requested")!.data as { reservationId: string }).reservationId;
    const before = h.state;
    const e = h.push({ type: "budget.refused", data: { node: "ask", callId: "ask#1.1", reservationId: rid, scope: "tenant", name: "tenant:t", window: "day", unit: "usd", period: "day:2026-11-28", limit: 1_000_000, used: 990_000, wouldAdd: 114_000, reason: "over" } });
    expect(h.state.status).toBe("halted");
    expect(h.state.halt).toEqual({ cause: "budget", reason: "over" });
    expect(settleJobs(before, h.state)).toMatchObject([{ reservationId: rid, release: true }]);
    expect(breachFacts(h.state, e)).toMatchObject({ cause: "budget", which: "tenant:t day usd" });
    expect(decide(h.state).kind).toBe("idle");
    expect(h.events.some((x) => x.type === "llm.started")).toBe(false);
  });

  it("halts before a call the run's own cap cannot take (run.limit_reached, a replayable decision)", () => {
    const h = governed({ limits: { maxCostUsdPerRun: 0.05 } });
    const reached = h.events.find((e) => e.type === "run.limit_reached")!;
    expect(reached.data).toMatchObject({ limit: "usd", max: 50_000, used: 0 });
    expect(h.state.status).toBe("halted");
    expect(replay(h.events).ok).toBe(true);
  });

  it("a call interrupted by a crash settles at its worst case; the retry reserves again under a new id", () => {
    const h = governed({});
    const req = h.events.find((e) => e.type === "budget.requested")!.data as { reservationId: string; estimate: { usdMicros: number; tokens: number } };
    h.push({ type: "budget.reserved", data: { reservationId: req.reservationId, scopes: [] } });
    h.push((decide(h.state) as Extract<ReturnType<typeof decide>, { kind: "append" }>).events[0]);
    const before = h.state;
    h.push({ type: "run.recovered", data: { interrupted: ["ask#1.1"] } });
    expect(settleJobs(before, h.state)).toMatchObject([{ reservationId: req.reservationId, actual: { usdMicros: req.estimate.usdMicros, tokens: req.estimate.tokens }, release: false }]);
    const d = decide(h.state);
    expect(d).toMatchObject({ kind: "append", events: [{ type: "budget.requested", data: { attempt: 2, reservationId: "run_test/ask#1.1#2" } }] });
  });
});
