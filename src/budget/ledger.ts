/**
 * The budget ledger as a pure state machine: reserve → settle | release, each idempotent by
 * reservation id. A reservation counts against the UTC day and month it was made in (its
 * settlement too, whenever it arrives) and against its run's total. What a window has used is
 * what is reserved plus what is settled, so a grant never lets reserved + settled pass a limit;
 * settlement replaces the reservation by the actual cost (never more than reserved when the
 * provider honours the output cap; an overrun is recorded as spent, not hidden).
 *
 * The Budget Durable Object runs these functions over the rows a request touches (one
 * reservation, its day, month and run totals) and writes back what they return.
 */
import { breachOf, mergeLimits, type Breach, type Limits } from "./budget-limits.ts";
import { add, sub, ZERO, type Amount } from "./money.ts";
import { periodKeys } from "./periods.ts";

export type ReservationState = "reserved" | "settled" | "released";

export interface Reservation {
  id: string;
  runId: string;
  amount: Amount;
  periods: { day: string; month: string };
  state: ReservationState;
  /** what it settled at (released: zero) */
  actual: Amount | null;
  at: number;
  closedAt: number | null;
}

export interface Totals {
  reserved: Amount;
  settled: Amount;
}

export const EMPTY_TOTALS: Totals = Object.freeze({ reserved: ZERO, settled: ZERO });

/** The ledger, or the part of it a request reads: reservations by id, totals by key (`day:…`, `month:…`, `run:<id>`). */
export interface LedgerState {
  limits: Limits;
  reservations: Record<string, Reservation>;
  totals: Record<string, Totals>;
}

export const runKey = (runId: string) => `run:${runId}`;

export interface Refusal extends Breach {
  /** the ledger key of the window: `run:<id>`, `day:2026-11-28`, `month:2026-11` */
  period: string;
}

export type ReserveOutcome =
  | { kind: "granted"; reservation: Reservation; repeated: boolean }
  | { kind: "refused"; refusal: Refusal }
  /** with `wait`: only money other reservations hold (not yet spent) stands in the way; ask again later */
  | { kind: "busy"; refusal: Refusal }
  /** the id was already settled or released: a new reservation needs a new id */
  | { kind: "closed"; reservation: Reservation };

export type CloseOutcome = { kind: "settled" | "released"; reservation: Reservation; repeated: boolean; overrun: Amount | null };

export interface Step<O> {
  state: LedgerState;
  outcome: O;
  /** the keys whose rows changed (for the Durable Object to write back) */
  changed: { reservation: string | null; totals: string[] };
}

const totalsOf = (s: LedgerState, key: string): Totals => s.totals[key] ?? EMPTY_TOTALS;
const used = (t: Totals): Amount => add(t.reserved, t.settled);

/** A slice takes at most this share of what a window has left (but never less than the call it is for needs). */
export const SLICE_SHARE = 4;

export interface ReserveRequest {
  id: string;
  runId: string;
  /** what is asked for */
  amount: Amount;
  /** with `min`, a partial grant: anything from `min` to `amount`, sized by what the windows have left */
  min?: Amount;
  /** answer `busy` instead of `refused` when the request would fit in what has been spent (settled), only not in what is also reserved */
  wait?: boolean;
  at: number;
  /** limits the caller brings (the run's policy set for this scope); merged most-restrictively with the ledger's own */
  extraLimits?: Limits;
}

/**
 * How much of `want` to grant when at least `min` fits: per unit, no more than a SLICE_SHARE-th
 * of what any limited window has left, never less than `min`, never more than `want`. Since
 * `min` fits, the grant never takes a window past its limit.
 */
export function grantSize(limits: Limits, used: (w: "run" | "day" | "month") => Amount, min: Amount, want: Amount): Amount {
  let usd = Math.max(min.usdMicros, want.usdMicros);
  let tokens = Math.max(min.tokens, want.tokens);
  for (const w of ["run", "day", "month"] as const) {
    const cap = limits[w];
    if (!cap) continue;
    const u = used(w);
    if (cap.usdMicros !== undefined) usd = Math.min(usd, Math.max(min.usdMicros, Math.floor((cap.usdMicros - u.usdMicros) / SLICE_SHARE)));
    if (cap.tokens !== undefined) tokens = Math.min(tokens, Math.max(min.tokens, Math.floor((cap.tokens - u.tokens) / SLICE_SHARE)));
  }
  return { usdMicros: usd, tokens };
}

export function reserve(s: LedgerState, req: ReserveRequest): Step<ReserveOutcome> {
  const existing = s.reservations[req.id];
  if (existing) {
    const outcome: ReserveOutcome = existing.state === "reserved" ? { kind: "granted", reservation: existing, repeated: true } : { kind: "closed", reservation: existing };
    return { state: s, outcome, changed: { reservation: null, totals: [] } };
  }
  const periods = periodKeys(req.at);
  const limits = mergeLimits(s.limits, req.extraLimits);
  const windows: Array<["run" | "day" | "month", string]> = [["run", runKey(req.runId)], ["day", periods.day], ["month", periods.month]];
  const least = req.min ?? req.amount;
  let busy: Refusal | null = null;
  for (const [w, key] of windows) {
    const t = totalsOf(s, key);
    const b = breachOf(w, limits[w], used(t), least);
    if (!b) continue;
    if (req.wait && !breachOf(w, limits[w], t.settled, least)) {
      busy ??= { ...b, period: key };
      continue;
    }
    return { state: s, outcome: { kind: "refused", refusal: { ...b, period: key } }, changed: { reservation: null, totals: [] } };
  }
  if (busy) return { state: s, outcome: { kind: "busy", refusal: busy }, changed: { reservation: null, totals: [] } };
  const keyOf = Object.fromEntries(windows) as Record<"run" | "day" | "month", string>;
  const amount = req.min ? grantSize(limits, (w) => used(totalsOf(s, keyOf[w])), req.min, req.amount) : req.amount;
  const reservation: Reservation = { id: req.id, runId: req.runId, amount, periods, state: "reserved", actual: null, at: req.at, closedAt: null };
  const totals = { ...s.totals };
  for (const [, key] of windows) {
    const t = totalsOf(s, key);
    totals[key] = { reserved: add(t.reserved, amount), settled: t.settled };
  }
  return {
    state: { ...s, reservations: { ...s.reservations, [req.id]: reservation }, totals },
    outcome: { kind: "granted", reservation, repeated: false },
    changed: { reservation: req.id, totals: windows.map(([, k]) => k) },
  };
}

/** A run's slice of one scope: `amount` is what it wants, `min` what its next call needs. */
export interface SliceAsk {
  name: string;
  amount: Amount;
  min?: Amount;
  /** the scope's current slice of the same run, settled at `actual` before this one is granted */
  replaces?: { id: string; actual: Amount };
  extraLimits?: Limits;
  /** answer `busy` rather than `refused` when only money other slices hold (not yet spent) stands in the way */
  wait?: boolean;
}

export type SlicesAnswer =
  /** every scope granted (`used`: the scope's UTC-day total after the grant) */
  | { kind: "granted"; repeated: boolean; scopes: Array<{ name: string; reservation: Reservation; used: Totals }> }
  /** a scope refused: nothing changes in any of them */
  | { kind: "refused"; name: string; refusal: Refusal }
  /** a scope has no room now, but would once slices other runs hold go back: nothing changes; ask again later */
  | { kind: "busy"; name: string; refusal: Refusal }
  /** the slice id was already settled or released in `name`: a new slice needs a new id */
  | { kind: "closed"; name: string };

/** What granting a slice changes in one scope's ledger. */
export interface SliceWrite {
  name: string;
  state: LedgerState;
  changed: { reservations: Set<string>; totals: Set<string> };
  /** false when the grant repeats an earlier one (nothing new to record) */
  fresh: boolean;
}

/**
 * A run's slice of several scopes, all or none: in each scope the slice it replaces is settled
 * (unless this grant repeats an earlier one, which did that) and reservation `id` is granted
 * between `min` and `amount`. `view(name, ids)` is the scope's ledger, or the part of it holding
 * the reservations `ids`, the run's total and the windows of `at`. Writes are returned only when
 * every scope granted.
 */
export function reserveSlices(view: (name: string, ids: string[]) => LedgerState, req: { id: string; runId: string; scopes: SliceAsk[]; at: number }): { answer: SlicesAnswer; writes: SliceWrite[] } {
  const writes: SliceWrite[] = [];
  const granted: Array<{ name: string; reservation: Reservation; used: Totals }> = [];
  for (const sc of req.scopes) {
    let state = view(sc.name, sc.replaces ? [req.id, sc.replaces.id] : [req.id]);
    const changed = { reservations: new Set<string>(), totals: new Set<string>() };
    if (sc.replaces && !state.reservations[req.id]) {
      const c = close(state, { id: sc.replaces.id, runId: req.runId, actual: sc.replaces.actual, at: req.at });
      state = c.state;
      if (c.changed.reservation) changed.reservations.add(c.changed.reservation);
      for (const k of c.changed.totals) changed.totals.add(k);
    }
    const r = reserve(state, { id: req.id, runId: req.runId, amount: sc.amount, at: req.at, ...(sc.min ? { min: sc.min } : {}), ...(sc.wait ? { wait: true } : {}), ...(sc.extraLimits ? { extraLimits: sc.extraLimits } : {}) });
    const o = r.outcome;
    if (o.kind === "refused" || o.kind === "busy") return { answer: { kind: o.kind, name: sc.name, refusal: o.refusal }, writes: [] };
    if (o.kind === "closed") return { answer: { kind: "closed", name: sc.name }, writes: [] };
    if (r.changed.reservation) changed.reservations.add(r.changed.reservation);
    for (const k of r.changed.totals) changed.totals.add(k);
    writes.push({ name: sc.name, state: r.state, changed, fresh: !o.repeated });
    granted.push({ name: sc.name, reservation: o.reservation, used: r.state.totals[periodKeys(req.at).day] ?? EMPTY_TOTALS });
  }
  return { answer: { kind: "granted", repeated: writes.every((w) => !w.fresh), scopes: granted }, writes };
}

/**
 * Settles a reservation at its actual cost (release: at zero). Idempotent: a repeated
 * settlement or release of a closed reservation changes nothing and answers as the first did.
 * A settlement for an id the ledger never granted is recorded as spent (the money is gone).
 */
export function close(s: LedgerState, req: { id: string; runId: string; actual: Amount; at: number; release?: boolean }): Step<CloseOutcome> {
  const kind = req.release ? "released" : "settled";
  const existing = s.reservations[req.id];
  if (existing && existing.state !== "reserved") {
    return { state: s, outcome: { kind: existing.state === "released" ? "released" : "settled", reservation: existing, repeated: true, overrun: null }, changed: { reservation: null, totals: [] } };
  }
  const actual = req.release ? ZERO : req.actual;
  const base = existing ?? { id: req.id, runId: req.runId, amount: ZERO, periods: periodKeys(req.at), state: "reserved" as const, actual: null, at: req.at, closedAt: null };
  const keys = [runKey(base.runId), base.periods.day, base.periods.month];
  const totals = { ...s.totals };
  for (const key of keys) {
    const t = totalsOf(s, key);
    totals[key] = { reserved: sub(t.reserved, base.amount), settled: add(t.settled, actual) };
  }
  const reservation: Reservation = { ...base, state: kind, actual, closedAt: req.at };
  const over = sub(actual, base.amount);
  const overrun = over.usdMicros > 0 || over.tokens > 0 ? { usdMicros: Math.max(0, over.usdMicros), tokens: Math.max(0, over.tokens) } : null;
  return {
    state: { ...s, reservations: { ...s.reservations, [req.id]: reservation }, totals },
    outcome: { kind, reservation, repeated: false, overrun },
    changed: { reservation: req.id, totals: keys },
  };
}

export const settle = (s: LedgerState, req: { id: string; runId: string; actual: Amount; at: number }) => close(s, req);
export const release = (s: LedgerState, req: { id: string; runId: string; at: number }) => close(s, { ...req, actual: ZERO, release: true });

/** Usage of a window: what is reserved and settled now. */
export function usageOf(s: LedgerState, key: string): Totals {
  return totalsOf(s, key);
}
