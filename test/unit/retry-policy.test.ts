import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRetryAfter, providerMessage } from "../../src/engine/call-failure.ts";
import { DEFAULT_RETRY, retryDelayMs } from "../../src/engine/retry-policy.ts";
import { assembleAnthropicStream, toAnthropicMessages } from "../../src/providers/anthropic-provider.ts";
import { assembleOpenAiStream } from "../../src/providers/openai-compatible-provider.ts";
import { functionName } from "../../src/providers/tool-names.ts";

describe("retry policy", () => {
  it("property: delay is deterministic, within [base/2, base] of the exponential base, and never below retry-after", () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 12 }), fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: undefined }), (callId, attempt, retryAfter) => {
        const d = retryDelayMs(DEFAULT_RETRY, callId, attempt, retryAfter);
        expect(retryDelayMs(DEFAULT_RETRY, callId, attempt, retryAfter)).toBe(d);
        const base = Math.min(DEFAULT_RETRY.maxDelayMs, DEFAULT_RETRY.initialDelayMs * 2 ** (attempt - 1));
        expect(d).toBeGreaterThanOrEqual(Math.max(Math.floor(base / 2), retryAfter ?? 0));
        expect(d).toBeLessThanOrEqual(Math.max(base, retryAfter ?? 0));
      }),
    );
  });
  it("spreads retries of different calls (jitter)", () => {
    const delays = new Set(Array.from({ length: 50 }, (_, i) => retryDelayMs(DEFAULT_RETRY, `call-${i}`, 3)));
    expect(delays.size).toBeGreaterThan(40);
  });
  it("reads retry-after as seconds, as an HTTP date, and retry-after-ms", () => {
    const now = Date.parse("2026-11-25T00:00:00Z");
    expect(parseRetryAfter(null, "7", now)).toBe(7000);
    expect(parseRetryAfter(null, "Wed, 25 Nov 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("1500", "7", now)).toBe(1500);
    expect(parseRetryAfter(null, "soon", now)).toBeUndefined();
  });
  it("keeps the provider's own error message", () => {
    expect(providerMessage('{"error":{"type":"invalid_request_error","message":"bad model"}}')).toBe("invalid_request_error: bad model");
    expect(providerMessage('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')).toBe("overloaded_error: Overloaded");
    expect(providerMessage("plain text")).toBe("plain text");
  });
});

describe("wire formats", () => {
  it("encodes tool names reversibly for function-name rules", () => {
    expect(functionName("claims.lookup")).toBe("claims_x2e_lookup");
    expect(functionName("crm/search")).toMatch(/^[a-zA-Z0-9_-]+$/);
  });
  it("maps a conversation to alternating Anthropic turns", () => {
    const m = toAnthropicMessages([
      { role: "system", content: "sys" },
      { role: "user", content: "hi" },
      { role: "assistant", content: null, toolCalls: [{ id: "a", name: "x.y", args: {} }, { id: "b", name: "z", args: {} }] },
      { role: "tool", content: "1", toolCallId: "a" },
      { role: "tool", content: "2", toolCallId: "b" },
    ]);
    expect(m.system).toBe("sys");
    expect(m.messages.map((x) => x.role)).toEqual(["user", "assistant", "user"]);
    expect(m.messages[2].content).toHaveLength(2);
  });
  it("assembles streams and surfaces streamed errors", () => {
    const oa = assembleOpenAiStream('data: {"choices":[{"delta":{"content":"he"}}]}\n\ndata: {"choices":[{"delta":{"content":"llo"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n', "x");
    expect(oa.choices?.[0].message?.content).toBe("hello");
    expect(() => assembleAnthropicStream('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n', "x")).toThrow(/overloaded_error/);
  });
});
