/** Budget periods: the UTC day and month a moment falls in, as ledger keys. Pure. */
import type { BudgetWindow } from "./budget-limits.ts";

export function dayKey(at: number): string {
  return `day:${new Date(at).toISOString().slice(0, 10)}`;
}

export function monthKey(at: number): string {
  return `month:${new Date(at).toISOString().slice(0, 7)}`;
}

/** The period keys a charge at `at` counts against. */
export function periodKeys(at: number): { day: string; month: string } {
  return { day: dayKey(at), month: monthKey(at) };
}

export function periodKeyFor(window: Exclude<BudgetWindow, "run">, at: number): string {
  return window === "day" ? dayKey(at) : monthKey(at);
}
