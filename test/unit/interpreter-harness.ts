/**
 * Drives the pure interpreter with fabricated observations, like the Durable Object does with
 * real ones. Used by unit and property tests; no I/O.
 */
import { canonicalJson } from "../../src/engine/canonical-json.ts";
import { decide } from "../../src/engine/decide.ts";
import type { NewEvent, RunEvent } from "../../src/engine/events.ts";
import { applyNew, initialState } from "../../src/engine/fold.ts";
import type { CallState, RunState } from "../../src/engine/run-state.ts";
import { workflowSchema } from "../../src/engine/workflow-schema.ts";
import { sliceReturnJobs } from "../../src/budget/settlement.ts";
import { BudgetBook } from "./budget-book.ts";

export type Observer = (call: CallState, state: RunState) => NewEvent;

export const defaultObserver: Observer = (call) =>
  call.kind === "llm"
    ? { type: "llm.completed", data: { node: call.node, callId: call.callId, response: { text: '{"ok":true}', toolCalls: [], usage: { inputTokens: 1, outputTokens: 1 } } } }
    : { type: "tool.completed", data: { node: call.node, callId: call.callId, result: { status: 200, body: { echoed: call.args } } } };

export function startEvent(doc: unknown, input: unknown = {}, at = 1_000, runId = "run_test"): RunEvent {
  return {
    seq: 1,
    type: "run.started",
    at,
    data: { runId, tenant: "t", workflow: { id: "wf", version: 1, hash: `test:${canonicalJson(doc)}` }, document: workflowSchema.parse(doc), input, actor: { sub: "u", roles: ["admin"] }, requestHash: "h", engine: { admissionSlice: true } },
  } as RunEvent;
}

export class Harness {
  events: RunEvent[];
  state: RunState;
  clock: number;
  /** the shared budgets slice requests are answered from (unlimited unless a test brings its own) */
  readonly budgets: BudgetBook;
  constructor(doc: unknown, input: unknown = {}, budgets = new BudgetBook(), runId = "run_test") {
    this.budgets = budgets;
    const first = startEvent(doc, input, 1_000, runId);
    this.events = [first];
    this.state = initialState(first);
    this.clock = first.at;
  }
  push(ev: NewEvent, tick = 1): RunEvent {
    this.clock += tick;
    this.state = applyNew(this.state, [ev], this.clock, this.events);
    return this.events[this.events.length - 1];
  }
  /** The live timer that fires at `until` (wait, retry or approval timers). */
  dueTimer(until: number): string {
    const s = this.state;
    if (s.cursor?.timer && !s.cursor.timer.fired && s.cursor.timer.fireAt === until) return s.cursor.timer.timerId;
    if (s.call?.retryTimerId && s.call.retryAt === until) return s.call.retryTimerId;
    const t = Object.values(s.cursor?.approval?.timers ?? {}).find((x) => !x.fired && x.fireAt === until);
    if (t) return t.timerId;
    throw new Error(`no live timer fires at ${until}`);
  }
  /** Fires the timer the interpreter is waiting for, then runs until it waits again. */
  fireNext(observe: Observer = defaultObserver): RunState {
    const d = decide(this.state);
    if (d.kind !== "wait") throw new Error(`not waiting: ${d.kind}`);
    this.clock = Math.max(this.clock, d.until);
    this.push({ type: "timer.fired", data: { timerId: this.dueTimer(d.until) } }, 0);
    return this.run(observe);
  }
  /** Delivers the slice returns the events since `before` queued (the run's outbox does this after each transaction). */
  returnSlices(before: RunState): void {
    for (const job of sliceReturnJobs(before, this.state)) for (const e of this.budgets.giveBack(job, this.clock)) this.push(e);
  }
  /** Runs until the interpreter waits or idles; fires due timers when `fireTimers`. */
  run(observe: Observer = defaultObserver, opts: { fireTimers?: boolean; maxSteps?: number } = {}): RunState {
    for (let i = 0; i < (opts.maxSteps ?? 10_000); i++) if (!this.step(observe, opts)) return this.state;
    throw new Error("harness step limit");
  }
  /** One decision and what it leads to; false when the interpreter waits or idles. */
  step(observe: Observer = defaultObserver, opts: { fireTimers?: boolean } = {}): boolean {
    const d = decide(this.state);
    const before = this.state;
    if (d.kind === "append") for (const ev of d.events) this.push(ev);
    else if (d.kind === "execute") this.push(observe(d.call, this.state));
    else if (d.kind === "reserve") this.push(this.budgets.answer(this.state.runId, d.request, this.clock));
    else if (d.kind === "wait" && opts.fireTimers) {
      this.clock = Math.max(this.clock, d.until);
      this.push({ type: "timer.fired", data: { timerId: this.dueTimer(d.until) } }, 0);
    } else return false;
    this.returnSlices(before);
    return true;
  }
}
