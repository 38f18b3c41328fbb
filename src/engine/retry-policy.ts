/**
 * Retry policy for model and tool calls: how many attempts, and how long to wait before the
 * next one. Exponential backoff with jitter, never shorter than the server's `retry-after`.
 * The jitter is derived from a hash of the call id and attempt, not from Math.random, so a
 * replay computes the same delay the run used. Pure.
 */
import type { WorkflowDocument } from "./workflow-schema.ts";

export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, initialDelayMs: 1_000, maxDelayMs: 60_000 };

export function retryPolicyFor(doc: WorkflowDocument, kind: "llm" | "tool" | "memory", tool?: string): RetryPolicy {
  const declared = kind === "llm" ? doc.provider.retry : tool ? doc.tools[tool]?.retry : undefined;
  return { ...DEFAULT_RETRY, ...(declared ?? {}) };
}

/** FNV-1a over the text, mapped to [0, 1). */
export function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 0x1_0000_0000;
}

/**
 * Delay before attempt `attempt + 1`: "equal jitter" over an exponential base
 * (half fixed, half jittered), capped at maxDelayMs, and at least the server's retry-after.
 */
export function retryDelayMs(policy: RetryPolicy, callId: string, attempt: number, retryAfterMs?: number): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  const jittered = Math.round(base / 2 + (base / 2) * unitHash(`${callId}#${attempt}`));
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, 24 * 3_600_000));
}
