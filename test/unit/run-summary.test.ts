import { describe, expect, it } from "vitest";
import { settled, summarize } from "../../src/engine/run-summary.ts";
import { Harness } from "./interpreter-harness.ts";

const ops = { sub: "ops", roles: ["operator"] };

/** tool → wait 5s → approval → end: a run passes through every kind of wait on its way. */
const doc = {
  id: "wf",
  version: 1,
  start: "fetch",
  nodes: {
    fetch: { kind: "tool", tool: "echo", next: "nap" },
    nap: { kind: "wait", for: "5s", next: "review" },
    review: { kind: "approval", approvers: { roles: ["claims-supervisor"] }, context: "review", onApprove: "done", onReject: "done" },
    done: { kind: "end", output: "ok" },
  },
  tools: { echo: { kind: "builtin", builtin: "echo", retry: { maxAttempts: 3, initialDelayMs: 1000 } } },
};

const settledNow = (h: Harness) => settled(h.state);

describe("settled (what GET /v1/runs/:id?wait= waits for)", () => {
  it("a run under way has not settled: working, waiting for its timer, or for a retry of its own", () => {
    const h = new Harness(doc);
    expect(h.state.status).toBe("running");
    expect(settledNow(h)).toBe(false);
    // the tool fails retryably: the run waits for its retry
    h.run((call) => ({ type: "tool.failed", data: { node: call.node, callId: call.callId, error: { message: "503", retryable: true } } }));
    expect(summarize(h.state).waiting?.reason).toBe("retry");
    expect(settledNow(h)).toBe(false);
    // the retry succeeds; the run sleeps on its timer
    h.fireNext();
    expect(summarize(h.state).waiting?.reason).toBe("timer");
    expect(settledNow(h)).toBe(false);
  });

  it("a run that waits for a person, is paused, needs attention or has ended has settled", () => {
    const h = new Harness(doc);
    h.run(undefined, { fireTimers: true });
    expect(summarize(h.state).waiting?.reason).toBe("approval");
    expect(settledNow(h)).toBe(true);
    h.push({ type: "run.paused", data: { actor: ops } });
    expect(settledNow(h)).toBe(true);
    h.push({ type: "run.resumed", data: { actor: ops } });
    h.push({ type: "approval.decided", data: { approvalId: h.state.cursor!.approval!.approvalId, by: "sam", roles: ["claims-supervisor"], decision: "approve", via: "api" } });
    h.run();
    expect(h.state.status).toBe("completed");
    expect(settledNow(h)).toBe(true);
    for (const status of ["needs_attention", "failed", "halted"] as const) expect(settled({ ...h.state, status })).toBe(true);
  });
});
