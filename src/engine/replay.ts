/**
 * Replay: re-fold a recorded log through the interpreter and check that every decision event
 * is exactly what `decide` produces at that point. Observations are taken as given. Pure; runs
 * in the Worker or in plain Node with no network.
 */
import { canonicalJson, jsonEqual } from "./canonical-json.ts";
import { decide } from "./decide.ts";
import { DECISION_EVENTS, type NewEvent, type RunEvent } from "./events.ts";
import { apply, initialState } from "./fold.ts";
import type { RunState } from "./run-state.ts";

export type ReplayResult =
  | { ok: true; state: RunState; events: number; decisions: number }
  | { ok: false; seq: number; expected: NewEvent | string; actual: { type: string; data: unknown }; state: RunState; message: string };

export class ReplayError extends Error {}

/** Replays a log. A log that cannot be folded at all (empty, gap, impossible event) throws ReplayError naming the seq. */
export function replay(events: readonly RunEvent[]): ReplayResult {
  if (!events.length) throw new ReplayError("the log is empty: a run starts with run.started");
  let state: RunState;
  try {
    state = initialState(events[0]);
  } catch (err) {
    throw new ReplayError(`seq ${events[0].seq}: ${(err as Error).message}`);
  }
  let expected: NewEvent[] = [];
  let decisions = 0;
  for (let i = 1; i < events.length; i++) {
    const e = events[i];
    if (DECISION_EVENTS.has(e.type)) {
      if (!expected.length) {
        const d = decide(state);
        if (d.kind !== "append") {
          const what = d.kind === "execute" ? `execute ${d.call.kind} call ${d.call.callId}` : d.kind === "reserve" ? `ask the shared budgets for slice ${d.request.sliceId}` : d.kind === "wait" ? `wait until ${new Date(d.until).toISOString()}` : `nothing (${d.reason})`;
          return { ok: false, seq: e.seq, expected: what, actual: { type: e.type, data: e.data }, state, message: `seq ${e.seq}: the log records ${e.type} but the interpreter decides to ${what}` };
        }
        expected = [...d.events];
      }
      const want = expected.shift()!;
      if (want.type !== e.type || !jsonEqual(want.data, e.data)) {
        return { ok: false, seq: e.seq, expected: want, actual: { type: e.type, data: e.data }, state, message: `seq ${e.seq}: the log records ${e.type} ${canonicalJson(e.data)} but the interpreter decides ${want.type} ${canonicalJson(want.data)}` };
      }
      decisions++;
    } else if (expected.length) {
      const want = expected[0];
      return { ok: false, seq: e.seq, expected: want, actual: { type: e.type, data: e.data }, state, message: `seq ${e.seq}: the log records ${e.type} where the interpreter still decides ${want.type}` };
    }
    try {
      state = apply(state, e);
    } catch (err) {
      throw new ReplayError(`seq ${e.seq}: ${e.type} cannot be applied: ${(err as Error).message}`);
    }
  }
  return { ok: true, state, events: events.length, decisions };
}
