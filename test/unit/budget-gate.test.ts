/** The budget in the interpreter: slices of the shared budgets, local reservations and settlements, refusals halt, recovery, replay. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decide } from "../../src/engine/decide.ts";
import type { NewEvent, RunEvent } from "../../src/engine/events.ts";
import { replay } from "../../src/engine/replay.ts";
import { breachFacts, sliceReturnJobs } from "../../src/budget/settlement.ts";
import { dayKey } from "../../src/budget/periods.ts";
import { SLICE_CALLS } from "../../src/budget/slices.ts";
import { BUDGET_WAITS, sliceUnavailable } from "../../src/budget/slice-answer.ts";
import { BudgetBook } from "./budget-book.ts";
import { Harness, type Observer } from "./interpreter-harness.ts";

const doc = {
  id: "wf",
  version: 1,
  start: "ask",
  nodes: { ask: { kind: "llm", model: "m", prompt: "hello", maxTokens: 100, next: "done" }, done: { kind: "end" } },
};
const threeCalls = {
  id: "wf",
  version: 1,
  start: "a",
  nodes: {
    a: { kind: "llm", model: "m", prompt: "one", maxTokens: 100, next: "b" },
    b: { kind: "llm", model: "m", prompt: "two", maxTokens: 100, next: "c" },
    c: { kind: "llm", model: "m", prompt: "three", maxTokens: 100, next: "done" },
    done: { kind: "end" },
  },
};
const prices = { prices: { "scripted/*": { input: 1000, output: 1000 } } };
const TENANT = "tenant:t";
const WORKFLOW = "workflow:t:wf";

function governed(policy: Record<string, unknown>, d: unknown = doc, book = new BudgetBook(), runId = "run_test") {
  const h = new Harness(d, {}, book, runId);
  h.push({ type: "policy.loaded", data: { hash: "h", nodeHashes: {}, entries: [{ level: "tenant", version: 1, policy: { ...prices, ...policy } }] } });
  return h;
}

/** Pushes the decisions up to (not including) the next non-append decision. */
function decideAll(h: Harness): ReturnType<typeof decide> {
  for (;;) {
    const d = decide(h.state);
    if (d.kind !== "append") return d;
    for (const e of d.events) h.push(e);
  }
}

const completes: Observer = (call) =>
  call.kind === "llm"
    ? { type: "llm.completed", data: { node: call.node, callId: call.callId, response: { text: "ok", toolCalls: [], usage: { inputTokens: 5, outputTokens: 20 } } } }
    : { type: "tool.completed", data: { node: call.node, callId: call.callId, result: { status: 200, body: {} } } };

const types = (events: RunEvent[]) => events.map((e) => e.type);

describe("budget gate", () => {
  it("asks every shared budget for a slice of a few calls' worth before the first call, with the policies' limits", () => {
    const h = governed({ limits: { maxCostUsdPerDay: 3 } });
    const d = decideAll(h);
    expect(d.kind).toBe("reserve");
    const req = h.events.find((e) => e.type === "budget.slice_requested")!.data as { sliceId: string; scopes: Array<{ name: string; min: { usdMicros: number }; want: { usdMicros: number }; limits: unknown; replaces: unknown }> };
    expect(req.sliceId).toBe("run_test/slice#1");
    expect(req.scopes.map((s) => s.name)).toEqual([TENANT, WORKFLOW]);
    expect(req.scopes[0]).toMatchObject({ limits: { day: { usdMicros: 3_000_000 } }, replaces: null });
    expect(req.scopes[0].want.usdMicros).toBe(req.scopes[0].min.usdMicros * SLICE_CALLS);
    expect(h.events.some((e) => e.type === "budget.requested" || e.type === "llm.started")).toBe(false);
  });

  it("a run whose first node is a model call asks for its first slice as it starts (admission), before its first step; that call then reserves from it with no other ask", () => {
    const h = governed({}, threeCalls);
    const first = decide(h.state);
    // the interpreter's first decision, before node.started: the ask the first call's gate would make, with no call yet
    expect(first.kind).toBe("append");
    const ask = (first as unknown as { events: unknown[] }).events[0] as { type: string; data: { sliceId: string; node: string; callId: string | null; reservationId: string | null; admission?: boolean; scopes: Array<{ min: { usdMicros: number }; want: { usdMicros: number } }> } };
    expect(ask).toMatchObject({ type: "budget.slice_requested", data: { sliceId: "run_test/slice#1", node: "a", callId: null, reservationId: null, admission: true } });
    h.run(completes);
    expect(h.state.status).toBe("completed");
    const requested = h.events.find((e) => e.type === "budget.requested")!.data as { estimate: { usdMicros: number } };
    expect(ask.data.scopes[0].min.usdMicros).toBe(requested.estimate.usdMicros); // sized for that very call
    expect(types(h.events).filter((t) => t === "budget.slice_requested")).toHaveLength(1);
    expect(types(h.events).indexOf("budget.slice_requested")).toBeLessThan(types(h.events).indexOf("node.started"));
    expect(replay(h.events).ok).toBe(true);
    // a replay that leaves the admission out does not pass: it is a decision like any other
    const without = h.events.filter((e) => e.type !== "budget.slice_requested").map((e, i) => ({ ...e, seq: i + 1 }));
    expect(replay(without).ok).toBe(false);
  });

  it("an admission slice the Budget object granted but the run heard as unreachable goes back released; nothing stays reserved", () => {
    const book = new BudgetBook();
    const h = governed({}, doc, book, "run_x");
    for (const e of (decide(h.state) as unknown as { events: NewEvent[] }).events) h.push(e);
    const req = h.state.budget.request!;
    expect(req.admission).toBe(true);
    book.answer("run_x", req, h.clock); // granted in the Budget object …
    const before = h.state;
    h.push(sliceUnavailable(req, "Network connection lost", h.clock)); // … but the run never heard
    expect(h.events.at(-1)).toMatchObject({ type: "budget.slice_declined", data: { answer: "unavailable" } });
    h.returnSlices(before);
    h.run(completes);
    expect(h.state.status).toBe("completed");
    expect(replay(h.events).ok).toBe(true);
    for (const name of [TENANT, WORKFLOW]) expect(book.totals(name, dayKey(h.clock)).reserved).toEqual({ usdMicros: 0, tokens: 0 });
    const returned = h.events.flatMap((e) => (e.type === "budget.slice_returned" && e.data.sliceId === req.sliceId ? [e.data.outcome] : []));
    expect(returned).toEqual(["released", "released"]);
  });

  it("a log from before admission asks (run.started without engine.admissionSlice) still replays as it was decided", () => {
    const h = governed({}, threeCalls);
    delete (h.events[0].data as { engine?: unknown }).engine;
    h.state = { ...h.state, admissionSlice: false };
    h.run(completes);
    expect(h.state.status).toBe("completed");
    expect(types(h.events).slice(0, 4)).toEqual(["run.started", "policy.loaded", "node.started", "policy.decision"]);
    expect(replay(h.events).ok).toBe(true);
  });

  it("an admission ask still unanswered when the run stops running (paused here) is released at once, and a late answer is ignored", () => {
    const book = new BudgetBook();
    const h = governed({}, doc, book, "run_p");
    for (const e of (decide(h.state) as unknown as { events: NewEvent[] }).events) h.push(e);
    const req = h.state.budget.request!;
    const late = book.answer("run_p", req, h.clock); // granted in the Budget object, the answer not yet recorded
    const before = h.state;
    h.push({ type: "run.paused", data: { actor: { sub: "ops", roles: ["operator"] } } });
    expect(h.state.budget.request).toBeNull();
    h.returnSlices(before); // released in both scopes
    for (const name of [TENANT, WORKFLOW]) expect(book.totals(name, dayKey(h.clock)).reserved).toEqual({ usdMicros: 0, tokens: 0 });
    h.push(late); // the answer arrives after all: nothing changes
    expect(h.state.budget.slices).toEqual({});
    h.push({ type: "run.resumed", data: { actor: { sub: "ops", roles: ["operator"] } } });
    h.run(completes);
    expect(h.state.status).toBe("completed");
    expect(types(h.events).filter((t) => t === "budget.slice_requested")).toHaveLength(2); // its first call asked for its own
    expect(replay(h.events).ok).toBe(true);
    for (const name of [TENANT, WORKFLOW]) expect(book.totals(name, dayKey(h.clock)).reserved).toEqual({ usdMicros: 0, tokens: 0 });
  });

  it("no admission ask when the first node makes no model call, or when the run's own cap cannot take the call (the gate stops the run there)", () => {
    const toolFirst = { ...threeCalls, start: "t", nodes: { ...threeCalls.nodes, t: { kind: "wait", for: "1s", next: "a" } } };
    const h = governed({}, toolFirst);
    expect(decide(h.state)).toMatchObject({ kind: "append", events: [{ type: "node.started" }] });
    const capped = governed({ limits: { maxCostUsdPerRun: 0.01 } }, threeCalls);
    decideAll(capped);
    expect(capped.events.some((e) => e.type === "budget.slice_requested")).toBe(false);
    expect(capped.events.at(-1)).toMatchObject({ type: "run.limit_reached", data: { limit: "usd" } });
  });

  it("reserves each call from the slices and settles it at its actual cost with no round trip; the slices go back when the run ends", () => {
    const h = governed({}, threeCalls);
    const s0 = h.state;
    expect(h.run(completes).status).toBe("completed");
    const log = types(h.events.slice(2));
    // one slice request for three calls; each call: requested + reserved before it starts, settled right after it completes
    expect(log.filter((t) => t === "budget.slice_requested")).toHaveLength(1);
    expect(log.filter((t) => t === "budget.reserved")).toHaveLength(3);
    expect(log.filter((t) => t === "budget.settled")).toHaveLength(3);
    for (const e of h.events.filter((x) => x.type === "llm.completed")) expect(h.events[e.seq]?.type).toBe("budget.settled"); // seq is 1-based: events[seq] is the next one
    expect(h.state.budget.spent).toEqual({ usdMicros: 3 * 25_000, tokens: 75 });
    // both slices went back, settled at what the three calls cost
    const returned = h.events.filter((e) => e.type === "budget.slice_returned").map((e) => e.data);
    expect(returned).toEqual([
      { sliceId: "run_test/slice#1", name: TENANT, outcome: "settled", actual: { usdMicros: 75_000, tokens: 75 } },
      { sliceId: "run_test/slice#1", name: WORKFLOW, outcome: "settled", actual: { usdMicros: 75_000, tokens: 75 } },
    ]);
    expect(h.state.budget).toMatchObject({ open: {}, slices: {}, request: null, returning: {} });
    for (const name of [TENANT, WORKFLOW]) expect(h.budgets.totals(name, dayKey(h.clock))).toEqual({ reserved: { usdMicros: 0, tokens: 0 }, settled: { usdMicros: 75_000, tokens: 75 } });
    expect(replay(h.events).ok).toBe(true);
    expect(s0.budget.issued).toBe(0);
  });

  it("replaces a slice that cannot cover the next call, settling the old one in the same request", () => {
    const book = new BudgetBook({ [TENANT]: { day: { usdMicros: 570_000 } } }); // tight: the object grants a quarter of what is left, about one call's worth
    const h = governed({}, threeCalls, book);
    h.run(completes);
    const reqs = h.events.filter((e) => e.type === "budget.slice_requested").map((e) => e.data as { sliceId: string; scopes: Array<{ name: string; replaces: { sliceId: string; actual: { usdMicros: number } } | null }> });
    expect(reqs.length).toBeGreaterThan(1);
    const second = reqs[1];
    expect(second.scopes.map((s) => s.name)).toEqual([TENANT]); // the workflow's slice still covers
    expect(second.scopes[0].replaces).toMatchObject({ sliceId: "run_test/slice#1" });
    expect(h.state.status).toBe("completed");
    expect(book.totals(TENANT, dayKey(h.clock)).reserved).toEqual({ usdMicros: 0, tokens: 0 });
    expect(book.totals(TENANT, dayKey(h.clock)).settled.usdMicros).toBe(75_000);
    expect(replay(h.events).ok).toBe(true);
  });

  it("a refused replacement leaves the run's slices in place; they go back, settled, as it halts", () => {
    const book = new BudgetBook({ [TENANT]: { day: { usdMicros: 120_000 } } }); // room for one call's worst case (114,000 µ$), not for a second after the first has settled
    const h = governed({}, threeCalls, book);
    h.run(completes);
    expect(h.state.status).toBe("halted");
    const returned = h.events.filter((e) => e.type === "budget.slice_returned").map((e) => e.data as { name: string; outcome: string; actual: { usdMicros: number } });
    expect(returned.find((r) => r.name === TENANT)).toMatchObject({ outcome: "settled" });
    const t = book.totals(TENANT, dayKey(h.clock));
    expect(t.reserved).toEqual({ usdMicros: 0, tokens: 0 });
    expect(t.settled.usdMicros).toBe(h.state.budget.spent.usdMicros);
    expect(replay(h.events).ok).toBe(true);
  });

  it("a slice lends only within the UTC day it was granted in", () => {
    const h = governed({}, threeCalls);
    decideAll(h);
    h.push(h.budgets.answer("run_test", h.state.budget.request!, h.clock));
    decideAll(h); // requested + reserved + llm.started
    h.push(completes(h.state.call!, h.state));
    h.clock += 86_400_000; // the next call happens a day later
    decideAll(h);
    const last = h.events.filter((e) => e.type === "budget.slice_requested").at(-1)!.data as { sliceId: string; scopes: Array<{ replaces: unknown }> };
    expect(last.sliceId).toBe("run_test/slice#2");
    expect(last.scopes).toHaveLength(2);
    expect(last.scopes[0].replaces).toMatchObject({ sliceId: "run_test/slice#1", actual: { usdMicros: 25_000 } });
  });

  it("a refusal halts the run before the call, with the breach to notify; no scope granted anything", () => {
    const book = new BudgetBook({ [WORKFLOW]: { day: { usdMicros: 1_000 } } });
    const h = governed({}, doc, book);
    const before = h.state;
    h.run(completes);
    // the first slice, asked for at admission, is declined without halting; the call's own ask takes the refusal
    const declined = h.events.find((e) => e.type === "budget.slice_declined")!;
    expect(declined.data).toMatchObject({ sliceId: "run_test/slice#1", answer: "refused" });
    expect(h.events.findIndex((e) => e.type === "budget.slice_declined")).toBeLessThan(h.events.findIndex((e) => e.type === "budget.refused"));
    const refused = h.events.find((e) => e.type === "budget.refused")!;
    expect(refused.data).toMatchObject({ name: WORKFLOW, window: "day", unit: "usd", limit: 1_000, sliceId: "run_test/slice#2" });
    expect(h.state.status).toBe("halted");
    expect(h.state.halt).toMatchObject({ cause: "budget" });
    expect(breachFacts(h.state, refused)).toMatchObject({ cause: "budget", which: `${WORKFLOW} day usd` });
    expect(h.events.some((x) => x.type === "llm.started" || x.type === "budget.requested")).toBe(false);
    // all or none: the tenant's scope, which had room, granted nothing either
    expect(h.events.some((e) => e.type === "budget.slice_returned")).toBe(false);
    expect(book.ledger(TENANT).reservations).toEqual({});
    expect(sliceReturnJobs(before, h.state)).toEqual([]);
    expect(decide(h.state).kind).toBe("idle");
    expect(replay(h.events).ok).toBe(true);
  });

  it("waits while other runs' slices hold the money, and goes ahead once they go back; gives up after BUDGET_WAITS asks", () => {
    const book = new BudgetBook({ [TENANT]: { day: { usdMicros: 150_000 } } }); // one call's worst case (114,000 µ$) at a time
    const a = governed({}, doc, book, "run_a");
    const b = governed({}, doc, book, "run_b");
    decideAll(a);
    a.step(completes); // run_a gets its slice and reserves its call
    expect(Object.keys(a.state.budget.slices)).toHaveLength(2);
    decideAll(b);
    b.step(completes); // run_b's admission ask: the room is held by run_a's slice, so it is declined (no wait at admission)
    expect(b.events.at(-1)).toMatchObject({ type: "budget.slice_declined", data: { answer: "busy" } });
    expect(b.state.status).toBe("running");
    decideAll(b);
    b.step(completes); // run_b's call asks: the room is still held
    expect(b.state.status).toBe("waiting");
    const deferred = b.events.filter((e) => e.type === "budget.deferred");
    expect(deferred).toHaveLength(1);
    expect(deferred[0].data).toMatchObject({ name: TENANT, window: "day", attempt: 1 });
    expect(b.state.budget.request?.retryAt).toBe(b.clock + 100 - 1);
    a.run(completes); // run_a completes and its slices go back, settled at 25,000
    expect(a.state.status).toBe("completed");
    expect(b.run(completes).status).toBe("completed");
    expect(book.totals(TENANT, dayKey(b.clock)).settled.usdMicros).toBe(50_000);
    expect(replay(b.events).ok).toBe(true);
    // a run that keeps finding the room held takes the refusal after its last ask
    const c = governed({}, doc, new BudgetBook({ [TENANT]: { day: { usdMicros: 150_000 } } }), "run_c");
    const holder = governed({}, doc, c.budgets, "run_holder");
    decideAll(holder);
    holder.step(completes);
    c.run(completes);
    expect(c.events.filter((e) => e.type === "budget.deferred")).toHaveLength(BUDGET_WAITS);
    expect(c.state.status).toBe("halted");
    expect(c.events.at(-1)?.type === "budget.refused" || c.events.some((e) => e.type === "budget.refused")).toBe(true);
    expect(replay(c.events).ok).toBe(true);
  });

  it("halts before a call the run's own cap cannot take (run.limit_reached, a replayable decision)", () => {
    const h = governed({ limits: { maxCostUsdPerRun: 0.05 } });
    h.run(completes);
    const reached = h.events.find((e) => e.type === "run.limit_reached")!;
    expect(reached.data).toMatchObject({ limit: "usd", max: 50_000, used: 0 });
    expect(h.state.status).toBe("halted");
    expect(h.events.some((e) => e.type === "budget.slice_requested")).toBe(false);
    expect(replay(h.events).ok).toBe(true);
  });

  it("a call interrupted by a crash settles at its worst case; the retry reserves again under a new id", () => {
    const h = governed({});
    decideAll(h);
    h.push(h.budgets.answer("run_test", h.state.budget.request!, h.clock));
    decideAll(h);
    const req = h.events.find((e) => e.type === "budget.requested")!.data as { reservationId: string; estimate: { usdMicros: number; tokens: number } };
    h.push({ type: "run.recovered", data: { interrupted: ["ask#1.1"] } });
    const d = decide(h.state);
    expect(d).toMatchObject({ kind: "append", events: [{ type: "budget.settled", data: { reservationId: req.reservationId, outcome: "settled", actual: { usdMicros: req.estimate.usdMicros, tokens: req.estimate.tokens } } }] });
    h.push((d as Extract<typeof d, { kind: "append" }>).events[0]);
    expect(h.state.budget.spent).toEqual({ usdMicros: req.estimate.usdMicros, tokens: req.estimate.tokens });
    // the slice (4 calls' worth) still covers the retry
    expect(decide(h.state)).toMatchObject({ kind: "append", events: [{ type: "budget.requested", data: { attempt: 2, reservationId: "run_test/ask#1.1#2" } }, { type: "budget.reserved" }] });
  });

  it("a call halted in flight settles at its worst case once the crash that lost its outcome is recovered, and the slices go back", () => {
    const h = governed({});
    while (decide(h.state).kind !== "execute") h.step(completes);
    const req = h.events.find((e) => e.type === "budget.requested")!.data as { reservationId: string; estimate: { usdMicros: number; tokens: number } };
    h.push({ type: "run.halted", data: { actor: { sub: "op", roles: [] } } });
    expect(decide(h.state).kind).toBe("idle"); // the call's outcome is unknown: nothing to settle yet
    expect(Object.keys(h.state.budget.open)).toHaveLength(1);
    // the instance died before the call's outcome was recorded: the next one records run.recovered, even in a halted run
    h.push({ type: "run.recovered", data: { interrupted: ["ask#1.1"] } });
    h.run(completes);
    expect(h.events.find((e) => e.type === "budget.settled")!.data).toMatchObject({ reservationId: req.reservationId, outcome: "settled", actual: { usdMicros: req.estimate.usdMicros } });
    expect(h.state.budget).toMatchObject({ open: {}, slices: {}, returning: {} });
    expect(h.budgets.totals(TENANT, dayKey(h.clock))).toEqual({ reserved: { usdMicros: 0, tokens: 0 }, settled: { usdMicros: req.estimate.usdMicros, tokens: req.estimate.tokens } });
    expect(replay(h.events).ok).toBe(true);
  });

  it("a call reserved but never started is released when its node ends another way", () => {
    const h = governed({}, { ...doc, nodes: { ask: { ...doc.nodes.ask, onError: "done" }, done: { kind: "end" } } });
    while (!h.events.some((e) => e.type === "budget.reserved")) h.step(completes);
    expect(decide(h.state)).toMatchObject({ kind: "append", events: [{ type: "llm.started" }] });
    const req = h.events.find((e) => e.type === "budget.requested")!.data as { reservationId: string };
    // the call is never started: the node is failed through onError instead (e.g. a policy changed after a crash)
    h.push({ type: "node.completed", data: { node: "ask", visit: 1, output: { error: "denied" }, next: "done", via: "onError" } });
    const d = decide(h.state) as Extract<ReturnType<typeof decide>, { kind: "append" }>;
    expect(d.events[0]).toMatchObject({ type: "budget.settled", data: { reservationId: req.reservationId, outcome: "released" } });
  });

  it("a failed call releases its reservation when the provider answered with an error, and settles at its worst case when it got no answer", () => {
    for (const [error, settled] of [
      [{ message: "rate limited", retryable: true, status: 429 }, false],
      [{ message: "timed out after 30000 ms", retryable: true }, true],
    ] as const) {
      const h = governed({});
      while (decide(h.state).kind !== "execute") h.step(completes);
      const req = h.events.find((e) => e.type === "budget.requested")!.data as { reservationId: string; estimate: { usdMicros: number } };
      h.push({ type: "llm.failed", data: { node: "ask", callId: "ask#1.1", error } });
      const d = decide(h.state) as Extract<ReturnType<typeof decide>, { kind: "append" }>;
      expect(d.events[0]).toMatchObject({ type: "budget.settled", data: { reservationId: req.reservationId, outcome: settled ? "settled" : "released", actual: { usdMicros: settled ? req.estimate.usdMicros : 0 } } });
      expect(h.state.budget.spent.usdMicros).toBe(settled ? req.estimate.usdMicros : 0);
    }
  });

  it("a run that starts waiting (a timer, an approval) gives its slices back and asks again afterwards", () => {
    const d = { id: "wf", version: 1, start: "a", nodes: { a: { kind: "llm", model: "m", prompt: "one", maxTokens: 100, next: "w" }, w: { kind: "wait", for: "1h", next: "b" }, b: { kind: "llm", model: "m", prompt: "two", maxTokens: 100, next: "done" }, done: { kind: "end" } } };
    const h = governed({}, d);
    expect(h.run(completes).status).toBe("waiting");
    expect(h.state.budget.slices).toEqual({});
    expect(h.events.filter((e) => e.type === "budget.slice_returned")).toHaveLength(2);
    expect(h.fireNext(completes).status).toBe("completed");
    expect(h.events.filter((e) => e.type === "budget.slice_requested")).toHaveLength(2);
    expect(replay(h.events).ok).toBe(true);
  });

  it("property: runs interleaved against one shared budget never settle past its limit, and every slice goes back", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 100_000, max: 2_000_000 }), fc.array(fc.nat(), { minLength: 50, maxLength: 400 }), fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 8 }) /* within the output cap the calls are reserved for */, (runs, limit, schedule, outputs) => {
        const book = new BudgetBook({ [TENANT]: { day: { usdMicros: limit } } });
        const hs = Array.from({ length: runs }, (_, i) => governed({}, threeCalls, book, `run_${i}`));
        let k = 0;
        const observe: Observer = (call) => {
          const out = outputs[k++ % outputs.length];
          return call.kind === "llm" ? { type: "llm.completed", data: { node: call.node, callId: call.callId, response: { text: "ok", toolCalls: [], usage: { inputTokens: 5, outputTokens: out } } } } : completes(call, hs[0].state);
        };
        // one step of one run at a time, in the schedule's order
        for (const pick of schedule) {
          const h = hs[pick % runs];
          h.step(observe);
        }
        for (const h of hs) h.run(observe);
        const t = book.totals(TENANT, dayKey(hs[0].clock));
        expect(t.settled.usdMicros).toBeLessThanOrEqual(limit);
        expect(t.reserved).toEqual({ usdMicros: 0, tokens: 0 });
        for (const h of hs) {
          expect(["completed", "halted"]).toContain(h.state.status);
          expect(h.state.budget).toMatchObject({ open: {}, slices: {}, returning: {}, request: null });
        }
        const spent = hs.reduce((n, h) => n + h.state.budget.spent.usdMicros, 0);
        expect(spent).toBe(t.settled.usdMicros);
      }),
      { numRuns: 150 },
    );
  });
});
