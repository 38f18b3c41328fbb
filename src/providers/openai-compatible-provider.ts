/**
 * OpenAI-compatible chat completions (OpenAI, Groq, vLLM, Ollama, Workers AI's OpenAI endpoint).
 * The key comes from a Worker secret named by the workflow (`apiKeySecret`), never from the file.
 */
import { CallFailure } from "../engine/call-failure.ts";
import type { ChatMessage, LlmRequest, LlmResponse } from "../engine/events.ts";
import { outboundFetch, readCapped } from "../tools/outbound.ts";
import type { ModelCallContext, ModelProvider } from "./model-provider.ts";

/** Function names must match ^[a-zA-Z0-9_-]+$; tool names like claims.lookup are encoded. */
export function functionName(tool: string): string {
  return tool.replace(/[^a-zA-Z0-9_-]/g, (ch) => `_x${ch.charCodeAt(0).toString(16)}_`);
}

function toWire(m: ChatMessage): Record<string, unknown> {
  if (m.role === "assistant" && m.toolCalls?.length) {
    return { role: "assistant", content: m.content, tool_calls: m.toolCalls.map((t) => ({ id: t.id, type: "function", function: { name: functionName(t.name), arguments: JSON.stringify(t.args) } })) };
  }
  if (m.role === "tool") return { role: "tool", tool_call_id: m.toolCallId, content: m.content ?? "" };
  return { role: m.role, content: m.content ?? "" };
}

interface WireResponse {
  choices?: Array<{ message?: { content?: string | null; tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }> }; finish_reason?: string }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } };
}

export const openAiCompatibleProvider: ModelProvider = {
  async complete(request: LlmRequest, ctx: ModelCallContext): Promise<LlmResponse> {
    const p = ctx.doc.provider;
    if (p.kind !== "openai") throw new CallFailure("openai provider used by a workflow with another provider", { retryable: false });
    const headers: Record<string, string> = { "content-type": "application/json", "idempotency-key": ctx.idempotencyKey };
    if (p.apiKeySecret) {
      const key = ctx.env[p.apiKeySecret];
      if (typeof key !== "string" || !key) throw new CallFailure(`secret ${p.apiKeySecret} is not set (add it with \`wrangler secret put ${p.apiKeySecret}\` or in .dev.vars)`, { retryable: false });
      headers.authorization = `Bearer ${key}`;
    }
    const byFunction = new Map(request.tools.map((t) => [functionName(t), t]));
    const body: Record<string, unknown> = { model: request.model, messages: request.messages.map(toWire), stream: false };
    if (request.maxTokens) body.max_tokens = request.maxTokens;
    if (request.tools.length) {
      body.tools = request.tools.map((t) => {
        const def = ctx.doc.tools[t];
        return { type: "function", function: { name: functionName(t), description: def?.description ?? t, parameters: def?.parameters ?? { type: "object", additionalProperties: true } } };
      });
    }
    const url = `${p.baseUrl.replace(/\/$/, "")}/chat/completions`;
    const what = `model provider at ${new URL(p.baseUrl).host}`;
    const res = await outboundFetch(url, { method: "POST", headers, body: JSON.stringify(body) }, ctx.hosts, what, p.timeoutMs, ctx.signal);
    const text = await readCapped(res, what);
    if (!res.ok) throw CallFailure.fromStatus(what, res.status, text);
    let wire: WireResponse;
    try {
      wire = JSON.parse(text) as WireResponse;
    } catch {
      throw new CallFailure(`${what} sent malformed JSON`, { status: res.status, retryable: true });
    }
    const choice = wire.choices?.[0];
    if (!choice?.message) throw new CallFailure(`${what} sent no choices`, { status: res.status, retryable: true });
    const toolCalls = (choice.message.tool_calls ?? []).map((tc, i) => {
      let args: Record<string, unknown> = {};
      try {
        args = tc.function?.arguments ? (JSON.parse(tc.function.arguments) as Record<string, unknown>) : {};
      } catch {
        args = { _unparsed: tc.function?.arguments };
      }
      const fn = tc.function?.name ?? "";
      return { id: tc.id ?? `${ctx.callId}/t${i}`, name: byFunction.get(fn) ?? fn, args };
    });
    return {
      text: choice.message.content ?? null,
      toolCalls,
      usage: { inputTokens: wire.usage?.prompt_tokens ?? 0, outputTokens: wire.usage?.completion_tokens ?? 0, ...(wire.usage?.prompt_tokens_details?.cached_tokens ? { cachedTokens: wire.usage.prompt_tokens_details.cached_tokens } : {}) },
      ...(choice.finish_reason ? { finishReason: choice.finish_reason } : {}),
    };
  },
};
