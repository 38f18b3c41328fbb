/** The budget ledger state machine: reserve / settle / release, idempotent by id, never past a limit. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { close, release, reserve, runKey, settle, type LedgerState } from "../../src/budget/ledger.ts";
import { dayKey, monthKey } from "../../src/budget/periods.ts";

const DAY = Date.parse("2026-11-28T12:00:00Z");
const empty = (limits: LedgerState["limits"] = {}): LedgerState => ({ limits, reservations: {}, totals: {} });
const amt = (usdMicros: number, tokens = 0) => ({ usdMicros, tokens });

describe("budget ledger", () => {
  it("grants within the limit and refuses past it, saying which window, what is used and what the call would add", () => {
    let s = empty({ day: { usdMicros: 1_000 } });
    const a = reserve(s, { id: "a", runId: "r1", amount: amt(600), at: DAY });
    expect(a.outcome.kind).toBe("granted");
    s = a.state;
    const b = reserve(s, { id: "b", runId: "r2", amount: amt(500), at: DAY });
    expect(b.outcome).toEqual({ kind: "refused", refusal: { window: "day", unit: "usd", limit: 1_000, used: 600, wouldAdd: 500, period: dayKey(DAY) } });
    expect(b.state).toBe(s);
  });

  it("merges the caller's limits most-restrictively with its own (per run, tokens)", () => {
    const s = empty({ run: { tokens: 1_000 } });
    const r = reserve(s, { id: "a", runId: "r1", amount: amt(1, 600), at: DAY, extraLimits: { run: { tokens: 500 } } });
    expect(r.outcome).toMatchObject({ kind: "refused", refusal: { window: "run", unit: "tokens", limit: 500, period: runKey("r1") } });
  });

  it("is idempotent by id: a repeated reserve answers the grant, a repeated settle or a late release changes nothing", () => {
    let s = empty({ month: { usdMicros: 10_000 } });
    s = reserve(s, { id: "a", runId: "r", amount: amt(900, 9), at: DAY }).state;
    const again = reserve(s, { id: "a", runId: "r", amount: amt(900, 9), at: DAY });
    expect(again.outcome).toMatchObject({ kind: "granted", repeated: true });
    expect(again.state).toBe(s);
    s = settle(s, { id: "a", runId: "r", actual: amt(400, 4), at: DAY }).state;
    const twice = settle(s, { id: "a", runId: "r", actual: amt(400, 4), at: DAY });
    expect(twice.outcome.repeated).toBe(true);
    expect(twice.state).toBe(s);
    expect(release(s, { id: "a", runId: "r", at: DAY }).state).toBe(s);
    expect(s.totals[monthKey(DAY)]).toEqual({ reserved: amt(0, 0), settled: amt(400, 4) });
    expect(reserve(s, { id: "a", runId: "r", amount: amt(1), at: DAY }).outcome.kind).toBe("closed");
  });

  it("counts a reservation in the UTC day and month it was made, whenever it settles (period rollover)", () => {
    const late = Date.parse("2026-11-30T23:59:59.999Z");
    let s = reserve(empty({ day: { usdMicros: 100 } }), { id: "a", runId: "r", amount: amt(100), at: late }).state;
    const next = late + 1; // 2026-12-01: a new day and a new month
    expect(reserve(s, { id: "b", runId: "r", amount: amt(100), at: next }).outcome.kind).toBe("granted");
    s = settle(s, { id: "a", runId: "r", actual: amt(70), at: next }).state;
    expect(s.totals["day:2026-11-30"].settled.usdMicros).toBe(70);
    expect(s.totals["month:2026-11"].settled.usdMicros).toBe(70);
    expect(s.totals["day:2026-12-01"]).toBeUndefined();
  });

  it("records an overrun and a settlement it never granted as spent", () => {
    let s = reserve(empty(), { id: "a", runId: "r", amount: amt(100), at: DAY }).state;
    const o = settle(s, { id: "a", runId: "r", actual: amt(130), at: DAY });
    expect(o.outcome.overrun).toEqual(amt(30, 0));
    s = o.state;
    const u = close(s, { id: "ghost", runId: "r", actual: amt(5), at: DAY });
    expect(u.state.totals[dayKey(DAY)].settled.usdMicros).toBe(135);
  });

  it("property: under any interleaving of reserve, settle, release and retries, reserved + settled never exceeds a limit", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("reserve" as const), id: fc.integer({ min: 0, max: 30 }), run: fc.integer({ min: 0, max: 4 }), usd: fc.integer({ min: 0, max: 400 }), tokens: fc.integer({ min: 0, max: 50 }), dayOffset: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant("settle" as const), id: fc.integer({ min: 0, max: 30 }), frac: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({ kind: fc.constant("release" as const), id: fc.integer({ min: 0, max: 30 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 900 }), fc.array(op, { maxLength: 120 }), (dayUsd, runTokens, monthUsd, ops) => {
        let s = empty({ day: { usdMicros: dayUsd }, run: { tokens: runTokens }, month: { usdMicros: monthUsd } });
        const settledOnce = new Map<string, number>();
        for (const o of ops) {
          const id = `res${o.id}`;
          if (o.kind === "reserve") {
            s = reserve(s, { id, runId: `run${o.run}`, amount: amt(o.usd, o.tokens), at: DAY + o.dayOffset * 86_400_000 }).state;
          } else {
            const r = s.reservations[id];
            if (o.kind === "settle") {
              // the provider honours the cap: the actual cost is at most what was reserved
              const actual = r ? amt(Math.floor(r.amount.usdMicros * o.frac), Math.floor(r.amount.tokens * o.frac)) : amt(0);
              const step = settle(s, { id, runId: r?.runId ?? "run0", actual, at: DAY });
              if (!step.outcome.repeated && step.outcome.kind === "settled") settledOnce.set(id, actual.usdMicros);
              s = step.state;
            } else s = release(s, { id, runId: r?.runId ?? "run0", at: DAY }).state;
          }
          for (const [key, t] of Object.entries(s.totals)) {
            expect(t.reserved.usdMicros).toBeGreaterThanOrEqual(0);
            const used = { usd: t.reserved.usdMicros + t.settled.usdMicros, tokens: t.reserved.tokens + t.settled.tokens };
            if (key.startsWith("day:")) expect(used.usd).toBeLessThanOrEqual(dayUsd);
            if (key.startsWith("month:")) expect(used.usd).toBeLessThanOrEqual(monthUsd);
            if (key.startsWith("run:")) expect(used.tokens).toBeLessThanOrEqual(runTokens);
          }
        }
        // settlement counted exactly once per reservation: the month totals are the sum of the settlements
        const monthSettled = Object.entries(s.totals).filter(([k]) => k.startsWith("month:")).reduce((n, [, t]) => n + t.settled.usdMicros, 0);
        expect(monthSettled).toBe([...settledOnce.values()].reduce((a, b) => a + b, 0));
        const open = Object.values(s.reservations).filter((r) => r.state === "reserved").reduce((n, r) => n + r.amount.usdMicros, 0);
        const monthReserved = Object.entries(s.totals).filter(([k]) => k.startsWith("month:")).reduce((n, [, t]) => n + t.reserved.usdMicros, 0);
        expect(monthReserved).toBe(open);
      }),
      { numRuns: 300 },
    );
  });

  it("a slice (reserve with min): all of want when the windows have room, a quarter of what is left when they do not, never less than min", () => {
    const roomy = reserve(empty({ day: { usdMicros: 10_000 } }), { id: "s", runId: "r", amount: amt(400), min: amt(100), at: DAY });
    expect(roomy.outcome).toMatchObject({ kind: "granted", reservation: { amount: amt(400) } });
    const tight = reserve(empty({ day: { usdMicros: 1_000 } }), { id: "s", runId: "r", amount: amt(400), min: amt(100), at: DAY });
    expect(tight.outcome).toMatchObject({ kind: "granted", reservation: { amount: amt(250) } });
    const nearlyGone = reserve(reserve(empty({ day: { usdMicros: 1_000 } }), { id: "a", runId: "r0", amount: amt(850), at: DAY }).state, { id: "s", runId: "r", amount: amt(400), min: amt(100), at: DAY });
    expect(nearlyGone.outcome).toMatchObject({ kind: "granted", reservation: { amount: amt(100) } });
    const refused = reserve(reserve(empty({ day: { usdMicros: 1_000 } }), { id: "a", runId: "r0", amount: amt(950), at: DAY }).state, { id: "s", runId: "r", amount: amt(400), min: amt(100), at: DAY });
    expect(refused.outcome).toMatchObject({ kind: "refused", refusal: { used: 950, wouldAdd: 100 } });
  });

  it("property: a slice is granted iff min fits, lies between min and want, and never takes a window past its limit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 6_000 }), fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 600 }), (dayUsd, runTokens, before, minUsd, wantUsd, minTok, wantTok) => {
        let s = empty({ day: { usdMicros: dayUsd }, run: { tokens: runTokens } });
        const pre = reserve(s, { id: "pre", runId: "r", amount: amt(before, Math.floor(before / 20)), at: DAY });
        s = pre.state;
        const usedUsd = s.totals[dayKey(DAY)]?.reserved.usdMicros ?? 0;
        const usedTok = s.totals[runKey("r")]?.reserved.tokens ?? 0;
        const r = reserve(s, { id: "s", runId: "r", amount: amt(wantUsd, wantTok), min: amt(minUsd, minTok), at: DAY });
        const fits = usedUsd + minUsd <= dayUsd && usedTok + minTok <= runTokens;
        expect(r.outcome.kind).toBe(fits ? "granted" : "refused");
        if (r.outcome.kind !== "granted") return;
        const g = r.outcome.reservation.amount;
        expect(g.usdMicros).toBeGreaterThanOrEqual(minUsd);
        expect(g.usdMicros).toBeLessThanOrEqual(Math.max(minUsd, wantUsd));
        expect(g.tokens).toBeGreaterThanOrEqual(minTok);
        expect(g.tokens).toBeLessThanOrEqual(Math.max(minTok, wantTok));
        expect(usedUsd + g.usdMicros).toBeLessThanOrEqual(dayUsd);
        expect(usedTok + g.tokens).toBeLessThanOrEqual(runTokens);
      }),
      { numRuns: 500 },
    );
  });

  it("with wait, answers busy while only money other reservations hold stands in the way, and refuses once spent money does", () => {
    let s = empty({ day: { usdMicros: 1_000 } });
    s = reserve(s, { id: "a", runId: "r1", amount: amt(700), at: DAY }).state;
    const waiting = reserve(s, { id: "b", runId: "r2", amount: amt(800), min: amt(400), at: DAY, wait: true });
    expect(waiting.outcome).toMatchObject({ kind: "busy", refusal: { window: "day", used: 700, wouldAdd: 400 } });
    expect(waiting.state).toBe(s);
    expect(reserve(s, { id: "b", runId: "r2", amount: amt(800), min: amt(400), at: DAY }).outcome.kind).toBe("refused"); // without wait: refused
    // r1 spends 650 of its 700: now the spent money alone leaves no room for 400
    s = settle(s, { id: "a", runId: "r1", actual: amt(650), at: DAY }).state;
    expect(reserve(s, { id: "b", runId: "r2", amount: amt(800), min: amt(400), at: DAY, wait: true }).outcome.kind).toBe("refused");
    // …but room for 300
    expect(reserve(s, { id: "c", runId: "r2", amount: amt(800), min: amt(300), at: DAY, wait: true }).outcome).toMatchObject({ kind: "granted", reservation: { amount: amt(300) } });
  });

  it("property: with wait, busy exactly when reserved money blocks and spent money does not", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 1_500 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 1_000 }), (cap, held, spentFrac, min) => {
        let s = empty({ day: { usdMicros: cap } });
        const pre = reserve(s, { id: "a", runId: "r1", amount: amt(held), at: DAY });
        s = pre.state;
        const spent = Math.floor(held * spentFrac);
        s = settle(s, { id: "a", runId: "r1", actual: amt(spent), at: DAY }).state;
        s = reserve(s, { id: "h", runId: "r3", amount: amt(held - spent), at: DAY }).state; // someone else holds what r1 did not spend
        const t = s.totals[dayKey(DAY)] ?? { reserved: amt(0), settled: amt(0) };
        const o = reserve(s, { id: "b", runId: "r2", amount: amt(min * 4), min: amt(min), at: DAY, wait: true }).outcome;
        const fitsAll = t.reserved.usdMicros + t.settled.usdMicros + min <= cap;
        const fitsSpent = t.settled.usdMicros + min <= cap;
        expect(o.kind).toBe(fitsAll ? "granted" : fitsSpent ? "busy" : "refused");
      }),
      { numRuns: 500 },
    );
  });
});
