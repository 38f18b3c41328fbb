/**
 * What a model call costs: the worst case before it (estimated prompt tokens plus the output
 * cap), and the actual cost after it from the provider's usage. Both from the same price, in
 * integer micro-dollars rounded up, so a reservation covers its settlement. Pure.
 */
import type { LlmRequest, LlmResponse } from "../engine/events.ts";
import type { Amount } from "./money.ts";
import type { ModelPrice } from "./price-table.ts";

/** Output cap assumed (and sent to the provider) when neither the node nor a policy sets one. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;
/** Per-message framing a provider adds around each message (role, separators). */
export const TOKENS_PER_MESSAGE = 4;

export interface CallEstimate extends Amount {
  inputTokens: number;
  outputTokens: number;
}

/** µ$ for `tokens` at `microsPerMTok`, rounded up (integer arithmetic: exact up to 9e15). */
export function tokensCost(tokens: number, microsPerMTok: number): number {
  if (tokens <= 0 || microsPerMTok <= 0) return 0;
  return Math.ceil((tokens * microsPerMTok) / 1_000_000);
}

/** Prompt tokens of a request: its serialized messages and tools at four characters a token, rounded up, plus framing per message. */
export function estimatePromptTokens(request: Pick<LlmRequest, "messages" | "tools">): number {
  const chars = JSON.stringify(request.messages).length + JSON.stringify(request.tools).length;
  return Math.ceil(chars / 4) + TOKENS_PER_MESSAGE * request.messages.length;
}

/**
 * The worst case of a call: every prompt token at the dearer of the input and cached prices,
 * `maxOutputTokens` of output, and 1 µ$ for the rounding of a cached/uncached split, so the
 * actual cost of any usage within the estimate never exceeds it.
 */
export function worstCaseCost(request: Pick<LlmRequest, "messages" | "tools">, maxOutputTokens: number, price: ModelPrice): CallEstimate {
  const inputTokens = estimatePromptTokens(request);
  const outputTokens = Math.max(0, maxOutputTokens);
  const inputPrice = Math.max(price.inputMicrosPerMTok, price.cachedMicrosPerMTok);
  // actual input is billed in two parts (uncached, cached), each rounded up: ceil(a) + ceil(b) ≤ ceil(a + b) + 1, whatever the prices
  const split = inputTokens > 0 ? 1 : 0;
  return { inputTokens, outputTokens, tokens: inputTokens + outputTokens, usdMicros: tokensCost(inputTokens, inputPrice) + tokensCost(outputTokens, price.outputMicrosPerMTok) + split };
}

/** The actual cost from the provider's usage (cached tokens are part of the input and priced as cached). */
export function actualCost(usage: LlmResponse["usage"], price: ModelPrice): Amount {
  const input = Math.max(0, usage.inputTokens);
  const cached = Math.min(input, Math.max(0, usage.cachedTokens ?? 0));
  const output = Math.max(0, usage.outputTokens);
  return {
    tokens: input + output,
    usdMicros: tokensCost(input - cached, price.inputMicrosPerMTok) + tokensCost(cached, price.cachedMicrosPerMTok) + tokensCost(output, price.outputMicrosPerMTok),
  };
}
