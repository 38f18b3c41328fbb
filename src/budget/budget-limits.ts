/**
 * Budget limits: USD and tokens, per run and per UTC day and month. People write USD; the
 * ledger holds micro-dollars. Limits from several places (policy levels, the budgets API)
 * merge most-restrictively: each number is the minimum of those set. Pure.
 */
import { z } from "zod";
import type { Policy } from "../policy/policy-schema.ts";
import { usdToMicros, type Amount } from "./money.ts";

export const WINDOWS = ["run", "day", "month"] as const;
export type BudgetWindow = (typeof WINDOWS)[number];
export const UNITS = ["usd", "tokens"] as const;
export type BudgetUnit = (typeof UNITS)[number];

/** A cap in the ledger's units; an absent field is no cap. */
export interface Cap {
  usdMicros?: number;
  tokens?: number;
}

export type Limits = Partial<Record<BudgetWindow, Cap>>;

/** What the API accepts and answers: USD (up to six decimals) and tokens. */
export const capSchema = z.strictObject({
  usd: z.number().nonnegative().max(1_000_000_000).multipleOf(0.000001, "at most six decimals (micro-dollars)").optional(),
  tokens: z.number().int().nonnegative().max(1e15).optional(),
});
export const limitsBodySchema = z.strictObject({
  perRun: capSchema.optional(),
  perDay: capSchema.optional(),
  perMonth: capSchema.optional(),
});
export type LimitsBody = z.output<typeof limitsBodySchema>;

const WINDOW_FIELD: Record<BudgetWindow, keyof LimitsBody> = { run: "perRun", day: "perDay", month: "perMonth" };

export function capFromUsd(c: { usd?: number; tokens?: number } | undefined): Cap | undefined {
  if (!c) return undefined;
  const out: Cap = {};
  if (c.usd !== undefined) out.usdMicros = usdToMicros(c.usd);
  if (c.tokens !== undefined) out.tokens = c.tokens;
  return out.usdMicros === undefined && out.tokens === undefined ? undefined : out;
}

export function limitsFromBody(b: LimitsBody): Limits {
  const out: Limits = {};
  for (const w of WINDOWS) {
    const cap = capFromUsd(b[WINDOW_FIELD[w]]);
    if (cap) out[w] = cap;
  }
  return out;
}

export function limitsToBody(l: Limits): LimitsBody {
  const out: LimitsBody = {};
  for (const w of WINDOWS) {
    const c = l[w];
    if (!c) continue;
    out[WINDOW_FIELD[w]] = { ...(c.usdMicros !== undefined ? { usd: c.usdMicros / 1_000_000 } : {}), ...(c.tokens !== undefined ? { tokens: c.tokens } : {}) };
  }
  return out;
}

const minOf = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** Most restrictive: per window and unit, the minimum of the limits that set one. */
export function mergeLimits(...sets: ReadonlyArray<Limits | null | undefined>): Limits {
  const out: Limits = {};
  for (const l of sets) {
    if (!l) continue;
    for (const w of WINDOWS) {
      const c = l[w];
      if (!c) continue;
      const prev = out[w] ?? {};
      const usdMicros = minOf(prev.usdMicros, c.usdMicros);
      const tokens = minOf(prev.tokens, c.tokens);
      out[w] = { ...(usdMicros !== undefined ? { usdMicros } : {}), ...(tokens !== undefined ? { tokens } : {}) };
    }
  }
  return out;
}

/** The budget limits a policy document sets (its `limits` block). */
export function limitsOfPolicy(p: Partial<Pick<Policy, "limits">> | null | undefined): Limits {
  const l = p?.limits;
  if (!l) return {};
  return limitsFromBody({
    perRun: { ...(l.maxCostUsdPerRun !== undefined ? { usd: l.maxCostUsdPerRun } : {}), ...(l.maxTokensPerRun !== undefined ? { tokens: l.maxTokensPerRun } : {}) },
    perDay: { ...(l.maxCostUsdPerDay !== undefined ? { usd: l.maxCostUsdPerDay } : {}), ...(l.maxTokensPerDay !== undefined ? { tokens: l.maxTokensPerDay } : {}) },
    perMonth: { ...(l.maxCostUsdPerMonth !== undefined ? { usd: l.maxCostUsdPerMonth } : {}), ...(l.maxTokensPerMonth !== undefined ? { tokens: l.maxTokensPerMonth } : {}) },
  });
}

export function isEmpty(l: Limits): boolean {
  return WINDOWS.every((w) => !l[w]);
}

/** The first cap `used + want` would exceed: which unit, the limit, what is used and what the call would add. */
export interface Breach {
  window: BudgetWindow;
  unit: BudgetUnit;
  limit: number;
  used: number;
  wouldAdd: number;
}

export function breachOf(window: BudgetWindow, cap: Cap | undefined, used: Amount, want: Amount): Breach | null {
  if (!cap) return null;
  if (cap.usdMicros !== undefined && used.usdMicros + want.usdMicros > cap.usdMicros) return { window, unit: "usd", limit: cap.usdMicros, used: used.usdMicros, wouldAdd: want.usdMicros };
  if (cap.tokens !== undefined && used.tokens + want.tokens > cap.tokens) return { window, unit: "tokens", limit: cap.tokens, used: used.tokens, wouldAdd: want.tokens };
  return null;
}
