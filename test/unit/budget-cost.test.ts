/** Prices, worst-case and actual cost of a model call, and limit merging. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { actualCost, estimatePromptTokens, tokensCost, worstCaseCost } from "../../src/budget/call-cost.ts";
import { limitsOfPolicy, mergeLimits, type Limits } from "../../src/budget/budget-limits.ts";
import { formatUsd, usdToMicros } from "../../src/budget/money.ts";
import { PRICE_TABLE_VERSION, priceFor, toModelPrice } from "../../src/budget/price-table.ts";
import { policySchema } from "../../src/policy/policy-schema.ts";

describe("price table", () => {
  it("prices known models from the versioned table and unknown ones like the dearest", () => {
    expect(priceFor("openai", "gpt-4.1-mini")).toEqual({ inputMicrosPerMTok: 400_000, outputMicrosPerMTok: 1_600_000, cachedMicrosPerMTok: 100_000, source: `${PRICE_TABLE_VERSION}: */gpt-4.1-mini*` });
    expect(priceFor("anthropic", "claude-sonnet-4-5").outputMicrosPerMTok).toBe(15_000_000);
    expect(priceFor("openai", "some-new-model")).toMatchObject({ inputMicrosPerMTok: 15_000_000, outputMicrosPerMTok: 75_000_000 });
  });

  it("lets policies override it, the most specific level winning", () => {
    const levels: Array<{ level: string; prices: Record<string, { input: number; output: number }> | undefined }> = [
      { level: "global", prices: { "openai/*": { input: 1, output: 1 } } },
      { level: "tenant", prices: { "openai/gpt-4.1*": { input: 2, output: 3 } } },
      { level: "node", prices: undefined },
    ];
    expect(priceFor("openai", "gpt-4.1")).toMatchObject({ inputMicrosPerMTok: 2_000_000 });
    expect(priceFor("openai", "gpt-4.1", levels)).toMatchObject({ inputMicrosPerMTok: 2_000_000, outputMicrosPerMTok: 3_000_000, cachedMicrosPerMTok: 2_000_000, source: "tenant policy: openai/gpt-4.1*" });
    expect(priceFor("openai", "o3", levels)).toMatchObject({ inputMicrosPerMTok: 1_000_000, source: "global policy: openai/*" });
    expect(policySchema.safeParse({ prices: { "bad pattern!": { input: 1, output: 1 } } }).success).toBe(false);
  });
});

describe("call cost", () => {
  it("estimates prompt tokens at four characters a token, rounded up, plus framing per message", () => {
    const req = { messages: [{ role: "user" as const, content: "x".repeat(100) }], tools: [] };
    const chars = JSON.stringify(req.messages).length + 2;
    expect(estimatePromptTokens(req)).toBe(Math.ceil(chars / 4) + 4);
  });

  it("counts in integer micro-dollars, rounded up, without float drift", () => {
    expect(tokensCost(1, 400_000)).toBe(1); // 0.4 µ$ rounds up
    expect(tokensCost(1_000_000, 400_000)).toBe(400_000);
    let total = 0;
    for (let i = 0; i < 100_000; i++) total += tokensCost(1, 1_000_000); // 1 µ$ each
    expect(total).toBe(100_000);
    expect(formatUsd(total)).toBe("$0.100000");
    expect(usdToMicros(0.1 + 0.2)).toBe(300_000);
  });

  it("prices cached input tokens at the cached price", () => {
    const p = priceFor("openai", "gpt-4.1-mini");
    expect(actualCost({ inputTokens: 1_000_000, outputTokens: 0, cachedTokens: 500_000 }, p)).toEqual({ tokens: 1_000_000, usdMicros: 200_000 + 50_000 });
  });

  it("property: the actual cost of any usage within the estimate and the output cap never exceeds the worst case", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 2_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.record({ input: fc.double({ min: 0, max: 100, noNaN: true }), output: fc.double({ min: 0, max: 200, noNaN: true }), cached: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined }) }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (text, cap, usd, fi, fo, fc_) => {
          const price = toModelPrice({ input: usd.input, output: usd.output, ...(usd.cached !== undefined ? { cached: usd.cached } : {}) }, "test");
          const req = { messages: [{ role: "user" as const, content: text }], tools: ["a.tool"] };
          const worst = worstCaseCost(req, cap, price);
          const input = Math.floor(worst.inputTokens * fi);
          const usage = { inputTokens: input, outputTokens: Math.floor(cap * fo), cachedTokens: Math.floor(input * fc_) };
          const actual = actualCost(usage, price);
          expect(actual.usdMicros).toBeLessThanOrEqual(worst.usdMicros);
          expect(actual.tokens).toBeLessThanOrEqual(worst.tokens);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("covers the rounding of a cached/uncached split even when both prices are equal (a case the property found)", () => {
    const price = toModelPrice({ input: 5e-7, output: 0 }, "test");
    const worst = worstCaseCost({ messages: [{ role: "user", content: "" }], tools: ["a.tool"] }, 0, price);
    const input = worst.inputTokens;
    expect(actualCost({ inputTokens: input, outputTokens: 0, cachedTokens: Math.floor(input / 2) }, price).usdMicros).toBeLessThanOrEqual(worst.usdMicros);
  });
});

describe("budget limits", () => {
  it("reads a policy's limits (USD to micro-dollars)", () => {
    const p = policySchema.parse({ limits: { maxCostUsdPerRun: 5, maxTokensPerRun: 100, maxCostUsdPerDay: 12.5, maxTokensPerMonth: 9 } });
    expect(limitsOfPolicy(p)).toEqual({ run: { usdMicros: 5_000_000, tokens: 100 }, day: { usdMicros: 12_500_000 }, month: { tokens: 9 } });
  });

  it("property: merging is most-restrictive (each number the minimum of those set), commutative and idempotent", () => {
    const cap = fc.record({ usdMicros: fc.option(fc.nat(), { nil: undefined }), tokens: fc.option(fc.nat(), { nil: undefined }) }).map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)));
    const limits: fc.Arbitrary<Limits> = fc.record({ run: fc.option(cap, { nil: undefined }), day: fc.option(cap, { nil: undefined }), month: fc.option(cap, { nil: undefined }) }).map((l) => Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined)) as Limits);
    fc.assert(
      fc.property(limits, limits, (a, b) => {
        const m = mergeLimits(a, b);
        expect(mergeLimits(b, a)).toEqual(m);
        expect(mergeLimits(m, m)).toEqual(m);
        for (const w of ["run", "day", "month"] as const) {
          for (const u of ["usdMicros", "tokens"] as const) {
            const vals = [a[w]?.[u], b[w]?.[u]].filter((v): v is number => v !== undefined);
            expect(m[w]?.[u]).toBe(vals.length ? Math.min(...vals) : undefined);
          }
        }
      }),
    );
  });
});
