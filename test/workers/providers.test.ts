/**
 * Real provider adapters against local fake servers that speak each wire format: tool calls,
 * usage, errors in the providers' shapes, 429 with retry-after, malformed JSON, forced
 * streaming, a hung connection; and the Workers AI binding. Keys come from Worker secrets and
 * never appear in the event log.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { events, publish, recordedCalls, settle, startRun, tokenFor } from "./helpers.ts";

type Provider = Record<string, unknown>;

function agentFlow(id: string, provider: Provider, model: string) {
  const svc = env.FAKE_SERVICES_URL;
  return {
    id,
    version: 1,
    provider,
    start: "classify",
    nodes: {
      classify: { kind: "llm", model, system: "You classify claims.", prompt: "Classify claim {{input.claimId}}", maxTokens: 256, next: "assess" },
      assess: { kind: "agent", model, prompt: "Assess claim {{input.claimId}}", tools: ["claims.lookup"], maxIterations: 3, next: "done" },
      done: { kind: "end", output: { risk: "{{nodes.classify.output.risk}}", recommendation: "{{nodes.assess.output.recommendation}}" } },
    },
    tools: { "claims.lookup": { kind: "http", method: "GET", url: `${svc}/tools/claims/{{args.claimId}}`, description: "Look up a claim", parameters: { type: "object", properties: { claimId: { type: "string" } }, required: ["claimId"] } } },
  };
}

function llmOnly(id: string, provider: Provider, model: string) {
  return { id, version: 1, provider, start: "ask", nodes: { ask: { kind: "llm", model, prompt: "Classify claim {{input.claimId}}", next: "done" }, done: { kind: "end", output: "{{nodes.ask.output}}" } } };
}

const openai = (extra: Provider = {}): Provider => ({ kind: "openai", baseUrl: `${env.FAKE_SERVICES_URL}/v1`, apiKeySecret: "OPENAI_TEST_KEY", retry: { initialDelayMs: 20, maxDelayMs: 200 }, ...extra });
const anthropic = (extra: Provider = {}): Provider => ({ kind: "anthropic", baseUrl: env.FAKE_SERVICES_URL, retry: { initialDelayMs: 20, maxDelayMs: 200 }, ...extra });

async function runOnce(tenant: string, doc: { id: string }, until?: string[]) {
  const token = await tokenFor(tenant);
  await publish(token, doc);
  const run = await startRun(token, doc.id, { claimId: "C-7" });
  const final = await settle(token, run.id, until, 600);
  return { final, log: await events(token, run.id), calls: await recordedCalls(run.id) };
}

function noSecretsIn(log: unknown) {
  const text = JSON.stringify(log);
  expect(text).not.toContain(env.OPENAI_TEST_KEY);
  expect(text).not.toContain(env.ANTHROPIC_API_KEY);
}

describe("OpenAI-compatible provider", () => {
  it("runs an llm node and a tool-using agent, records usage with cached tokens, sends the key from secrets only", async () => {
    const { final, log, calls } = await runOnce("p-openai", agentFlow("oa", openai(), "fake-gpt"));
    expect(final.status).toBe("completed");
    expect(final.output).toEqual({ risk: "low", recommendation: "pay" });
    const completed = log.filter((e) => e.type === "llm.completed");
    expect(completed).toHaveLength(3);
    expect(completed[0].data.response).toMatchObject({ usage: { inputTokens: 50, outputTokens: 10, cachedTokens: 8 } });
    const llmCalls = calls.filter((c) => c.kind === "llm");
    expect(llmCalls.every((c) => c.authorization === `Bearer ${env.OPENAI_TEST_KEY}`)).toBe(true);
    const first = llmCalls[0].body as { messages: Array<{ role: string }>; max_tokens: number };
    expect(first.messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(first.max_tokens).toBe(256);
    const withTools = llmCalls[1].body as { tools: Array<{ function: { name: string; parameters: unknown } }> };
    expect(withTools.tools[0].function.name).toBe("claims_x2e_lookup");
    expect(calls.some((c) => c.path === "/tools/claims/C-7")).toBe(true);
    noSecretsIn(log);
  });

  it("waits at least retry-after on a 429 and records every attempt", async () => {
    const { final, log } = await runOnce("p-429", llmOnly("r429", openai(), "fake-429-once"));
    expect(final.status).toBe("completed");
    const failed = log.find((e) => e.type === "llm.failed")!;
    expect(failed.data.error).toMatchObject({ status: 429, retryable: true, retryAfterMs: 1000 });
    expect(String((failed.data.error as { message: string }).message)).toMatch(/Rate limit reached/);
    const timer = log.find((e) => e.type === "timer.scheduled")!;
    expect((timer.data.fireAt as number) - failed.at).toBeGreaterThanOrEqual(1000);
    const starts = log.filter((e) => e.type === "llm.started");
    expect(starts.map((e) => e.data.attempt)).toEqual([1, 2]);
    expect(new Set(starts.map((e) => e.data.idempotencyKey)).size).toBe(1);
    const fired = log.find((e) => e.type === "timer.fired")!;
    expect(fired.at - failed.at).toBeGreaterThanOrEqual(1000);
  });

  it("fails the step at once on 400 and 401 with the provider's message", async () => {
    for (const [model, message] of [
      ["fake-400", /invalid_request_error: Invalid value for 'model'/],
      ["fake-401", /Incorrect API key provided/],
    ] as const) {
      const { final, log } = await runOnce(`p-${model}`, llmOnly(`e-${model}`, openai(), model));
      expect(final.status).toBe("failed");
      expect((final.error as { message: string }).message).toMatch(message);
      expect(log.filter((e) => e.type === "llm.started")).toHaveLength(1);
    }
  });

  it("retries malformed JSON, and gives up on persistent 5xx after the declared attempts", async () => {
    const ok = await runOnce("p-malformed", llmOnly("mal", openai(), "fake-malformed-once"));
    expect(ok.final.status).toBe("completed");
    expect(ok.log.find((e) => e.type === "llm.failed")!.data.error).toMatchObject({ retryable: true, message: expect.stringMatching(/malformed JSON/) });
    const bad = await runOnce("p-500", llmOnly("five", openai({ retry: { maxAttempts: 4, initialDelayMs: 10, maxDelayMs: 50 } }), "fake-500-always"));
    expect(bad.final.status).toBe("failed");
    expect((bad.final.error as { message: string }).message).toMatch(/failed after 4 attempt\(s\).*server had an error/);
    expect(bad.calls.filter((c) => c.kind === "llm")).toHaveLength(4);
  });

  it("times out a hung connection, retries, then fails with a clear message", async () => {
    const { final, calls } = await runOnce("p-hang", llmOnly("hang", openai({ timeoutMs: 300, retry: { maxAttempts: 2, initialDelayMs: 10 } }), "fake-hang"));
    expect(final.status).toBe("failed");
    expect((final.error as { message: string }).message).toMatch(/timed out after 300 ms/);
    expect(calls.filter((c) => c.kind === "llm")).toHaveLength(2);
  });

  it("assembles a streamed answer when the endpoint streams anyway", async () => {
    const { final, log } = await runOnce("p-stream", agentFlow("st", openai(), "fake-stream"));
    expect(final.status).toBe("completed");
    expect(final.output).toEqual({ risk: "low", recommendation: "pay" });
    const toolTurn = log.filter((e) => e.type === "llm.completed")[1].data.response as { toolCalls: Array<{ name: string; args: unknown }>; usage: unknown };
    expect(toolTurn.toolCalls).toEqual([{ id: "call_s1", name: "claims.lookup", args: { claimId: "C-7" } }]);
    expect(toolTurn.usage).toMatchObject({ inputTokens: 50, cachedTokens: 8 });
  });

  it("fails precisely when the key's secret is missing, sending nothing", async () => {
    const { final, calls } = await runOnce("p-nokey", llmOnly("nokey", openai({ apiKeySecret: "MISSING_KEY" }), "fake-gpt"));
    expect(final.status).toBe("failed");
    expect((final.error as { message: string }).message).toMatch(/secret MISSING_KEY is not set/);
    expect(calls).toHaveLength(0);
  });
});

describe("Anthropic Messages provider", () => {
  it("runs a tool-using agent with alternating turns, x-api-key and usage with cache reads", async () => {
    const { final, log, calls } = await runOnce("p-claude", agentFlow("cl", anthropic(), "claude-fake"));
    expect(final.status).toBe("completed");
    expect(final.output).toEqual({ risk: "low", recommendation: "pay" });
    const llm = calls.filter((c) => c.kind === "llm");
    expect(llm.every((c) => c.apiKey === env.ANTHROPIC_API_KEY)).toBe(true);
    expect((llm[0].body as { system: string }).system).toBe("You classify claims.");
    const toolTurn = log.filter((e) => e.type === "llm.completed")[1].data.response as { text: string; toolCalls: Array<{ id: string; name: string }> };
    expect(toolTurn.toolCalls).toEqual([{ id: "toolu_01", name: "claims.lookup", args: { claimId: "C-7" } }]);
    const last = llm[llm.length - 1].body as { messages: Array<{ role: string; content: Array<{ type: string }> }> };
    expect(last.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(last.messages[2].content[0].type).toBe("tool_result");
    expect(log.find((e) => e.type === "llm.completed")!.data.response).toMatchObject({ usage: { inputTokens: 60, outputTokens: 12, cachedTokens: 5 } });
    noSecretsIn(log);
  });

  it("retries overloaded (529) and 429 with retry-after; fails 400 with the API's message", async () => {
    const over = await runOnce("p-529", llmOnly("o529", anthropic(), "claude-fake-overloaded-once"));
    expect(over.final.status).toBe("completed");
    expect(over.log.find((e) => e.type === "llm.failed")!.data.error).toMatchObject({ status: 529, retryable: true, message: expect.stringMatching(/overloaded_error: Overloaded/) });
    const limited = await runOnce("p-a429", llmOnly("a429", anthropic(), "claude-fake-429-once"));
    expect(limited.final.status).toBe("completed");
    expect(limited.log.find((e) => e.type === "llm.failed")!.data.error).toMatchObject({ retryAfterMs: 1000 });
    const bad = await runOnce("p-a400", llmOnly("a400", anthropic(), "claude-fake-400"));
    expect(bad.final.status).toBe("failed");
    expect((bad.final.error as { message: string }).message).toMatch(/invalid_request_error: model: claude-fake-400 is not a valid model/);
  });

  it("assembles a streamed Messages answer", async () => {
    const { final, log } = await runOnce("p-cstream", agentFlow("cs", anthropic(), "claude-fake-stream"));
    expect(final.status).toBe("completed");
    const toolTurn = log.filter((e) => e.type === "llm.completed")[1].data.response as { toolCalls: unknown[]; text: string };
    expect(toolTurn.toolCalls).toEqual([{ id: "toolu_01", name: "claims.lookup", args: { claimId: "C-7" } }]);
    expect(toolTurn.text).toBe("Let me look that up.");
  });
});

describe("Workers AI binding", () => {
  it("runs through the binding, with tool calls and usage", async () => {
    const { final, log } = await runOnce("p-wai", agentFlow("wai", { kind: "workers-ai", binding: "AI", retry: { initialDelayMs: 10 } }, "@cf/meta/llama-3.1-8b-instruct"));
    expect(final.status).toBe("completed");
    expect(final.output).toEqual({ risk: "low", recommendation: "pay" });
    expect(log.find((e) => e.type === "llm.completed")!.data.response).toMatchObject({ usage: { inputTokens: 30, outputTokens: 7 } });
  });

  it("fails a bad request without retrying, and explains a missing binding", async () => {
    const bad = await runOnce("p-wai-bad", llmOnly("waibad", { kind: "workers-ai", binding: "AI" }, "@cf/fake/bad-input"));
    expect(bad.final.status).toBe("failed");
    expect((bad.final.error as { message: string }).message).toMatch(/Bad input/);
    expect(bad.log.filter((e) => e.type === "llm.started")).toHaveLength(1);
    const missing = await runOnce("p-wai-none", llmOnly("wainone", { kind: "workers-ai", binding: "NOPE" }, "@cf/x"));
    expect((missing.final.error as { message: string }).message).toMatch(/binding NOPE is not configured/);
  });
});
