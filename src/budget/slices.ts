/**
 * Budget slices, the run's side. Instead of a round trip to every shared Budget object before
 * and after each model call, a run borrows a slice of each shared budget (a reservation in the
 * Budget object, a few calls' worth, sized down when the budget is nearly used up) and reserves
 * and settles its calls against the slices locally, as decisions in its own log. A slice goes
 * back to its Budget object (settled at what the run spent from it, the rest released) when it
 * is replaced, when the run stops running (waiting, paused, ended) or at the UTC day or month
 * boundary, so a run never holds budget it is not about to use. Concurrent runs still cannot
 * both spend the last dollar: every slice is granted atomically by the one Budget object of
 * its scope, and a call only goes ahead inside the slices it was reserved from. Pure.
 */
import { add, sub, type Amount } from "./money.ts";
import { periodKeys } from "./periods.ts";

/** A slice asks for this many worst-case calls (the Budget object may grant less, never less than the call needs). */
export const SLICE_CALLS = 4;

export interface Slice {
  sliceId: string;
  scope: "tenant" | "workflow";
  name: string;
  /** what the Budget object holds for the run */
  granted: Amount;
  /** what the run has taken from it: open reservations at their worst case, settled calls at their actual cost */
  used: Amount;
  /** the Budget windows it was reserved in: it lends only within them */
  day: string;
  month: string;
}

export const sliceIdFor = (runId: string, n: number): string => `${runId}/slice#${n}`;

export const remainingOf = (sl: Slice): Amount => sub(sl.granted, sl.used);

/** The slice can lend `amount` at `at` (same UTC day and month as its grant). */
export function covers(sl: Slice | undefined, amount: Amount, at: number): boolean {
  if (!sl) return false;
  const p = periodKeys(at);
  if (sl.day !== p.day || sl.month !== p.month) return false;
  const r = remainingOf(sl);
  return r.usdMicros >= amount.usdMicros && r.tokens >= amount.tokens;
}

export const sliceWant = (estimate: Amount): Amount => ({ usdMicros: estimate.usdMicros * SLICE_CALLS, tokens: estimate.tokens * SLICE_CALLS });

export const takeFrom = (sl: Slice, amount: Amount): Slice => ({ ...sl, used: add(sl.used, amount) });
