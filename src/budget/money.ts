/**
 * Money inside budgets is integer micro-dollars (1 USD = 1,000,000 µ$): sums of many small
 * costs never drift the way binary floats do, and a limit compares exactly. USD appears only
 * at the edges (API bodies, policy documents, messages).
 */
export const MICROS_PER_USD = 1_000_000;

/** An amount a budget counts: micro-dollars and tokens. */
export interface Amount {
  usdMicros: number;
  tokens: number;
}

export const ZERO: Amount = Object.freeze({ usdMicros: 0, tokens: 0 });

export function usdToMicros(usd: number): number {
  return Math.round(usd * MICROS_PER_USD);
}

export function microsToUsd(micros: number): number {
  return micros / MICROS_PER_USD;
}

export function add(a: Amount, b: Amount): Amount {
  return { usdMicros: a.usdMicros + b.usdMicros, tokens: a.tokens + b.tokens };
}

export function sub(a: Amount, b: Amount): Amount {
  return { usdMicros: a.usdMicros - b.usdMicros, tokens: a.tokens - b.tokens };
}

/** An amount in one unit as people read it: "$0.004213" or "1200 tokens". */
export function describeAmount(unit: "usd" | "tokens", n: number): string {
  return unit === "usd" ? formatUsd(n) : `${n} tokens`;
}

/** "$0.004213" — six decimals, exactly what the ledger holds. */
export function formatUsd(micros: number): string {
  const sign = micros < 0 ? "-" : "";
  const m = Math.abs(micros);
  return `${sign}$${Math.floor(m / MICROS_PER_USD)}.${String(m % MICROS_PER_USD).padStart(6, "0")}`;
}
