/**
 * The price table: what a model call costs per million tokens (input, output, cached input),
 * by `provider/model` glob pattern. Versioned so an event can say which prices it used; policy
 * documents override it (`prices:` at any level, the most specific level winning), so the run
 * computes the same cost at reservation and at settlement from its own log. Pure.
 */
import { z } from "zod";
import { globToRegExp } from "../policy/glob.ts";
import { usdToMicros } from "./money.ts";

export const PRICE_TABLE_VERSION = "2026-11-01";

/** A price as people write it: USD per million tokens. */
export const priceSchema = z.strictObject({
  input: z.number().nonnegative().max(100_000),
  output: z.number().nonnegative().max(100_000),
  /** cached (prompt-cache hit) input tokens; default: the input price */
  cached: z.number().nonnegative().max(100_000).optional(),
});
export type PriceUsd = z.output<typeof priceSchema>;

export const pricePattern = z.string().min(1).max(200).regex(/^[\w.*:/@-]+$/, "must be a provider/model pattern such as openai/gpt-4.1* or */claude-*");
export const pricesSchema = z.record(pricePattern, priceSchema);
export type PriceOverrides = z.output<typeof pricesSchema>;

/** A price in integer micro-dollars per million tokens, and where it came from. */
export interface ModelPrice {
  inputMicrosPerMTok: number;
  outputMicrosPerMTok: number;
  cachedMicrosPerMTok: number;
  /** the table version or the policy level that set it, and the pattern that matched */
  source: string;
}

/**
 * List prices (USD per million tokens) as of the table version. Unknown models are priced
 * like the most expensive model listed: a budget never treats an unpriced call as free.
 */
export const DEFAULT_PRICES: ReadonlyArray<readonly [string, PriceUsd]> = [
  ["*/gpt-4.1-nano*", { input: 0.1, output: 0.4, cached: 0.025 }],
  ["*/gpt-4.1-mini*", { input: 0.4, output: 1.6, cached: 0.1 }],
  ["*/gpt-4.1*", { input: 2, output: 8, cached: 0.5 }],
  ["*/gpt-4o-mini*", { input: 0.15, output: 0.6, cached: 0.075 }],
  ["*/gpt-4o*", { input: 2.5, output: 10, cached: 1.25 }],
  ["*/o4-mini*", { input: 1.1, output: 4.4, cached: 0.275 }],
  ["*/claude-*haiku*", { input: 0.8, output: 4, cached: 0.08 }],
  ["*/claude-*sonnet*", { input: 3, output: 15, cached: 0.3 }],
  ["*/claude-*opus*", { input: 15, output: 75, cached: 1.5 }],
  ["workers-ai/@cf/*", { input: 0.3, output: 2.25 }],
  // the scripted provider calls no model; a nominal price keeps budgets visible in examples and tests
  ["scripted/*", { input: 1, output: 2 }],
  ["*", { input: 15, output: 75, cached: 1.5 }],
];

export function toModelPrice(p: PriceUsd, source: string): ModelPrice {
  return { inputMicrosPerMTok: usdToMicros(p.input), outputMicrosPerMTok: usdToMicros(p.output), cachedMicrosPerMTok: usdToMicros(p.cached ?? p.input), source };
}

function lookup(key: string, table: Iterable<readonly [string, PriceUsd]>): [string, PriceUsd] | null {
  for (const [pattern, price] of table) if (globToRegExp(pattern).test(key)) return [pattern, price];
  return null;
}

/**
 * The price of `provider/model`. `overrides` are policy levels' `prices`, least specific first
 * (global, tenant, workflow, node): the last level with a matching pattern wins; within a level
 * the first matching pattern in document order. Then the default table.
 */
export function priceFor(provider: string, model: string, overrides: ReadonlyArray<{ level: string; prices: PriceOverrides | undefined }> = []): ModelPrice {
  const key = `${provider}/${model}`;
  for (let i = overrides.length - 1; i >= 0; i--) {
    const o = overrides[i];
    if (!o.prices) continue;
    const hit = lookup(key, Object.entries(o.prices));
    if (hit) return toModelPrice(hit[1], `${o.level} policy: ${hit[0]}`);
  }
  const hit = lookup(key, DEFAULT_PRICES)!;
  return toModelPrice(hit[1], `${PRICE_TABLE_VERSION}: ${hit[0]}`);
}
