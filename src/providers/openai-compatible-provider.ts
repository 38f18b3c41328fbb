/**
 * OpenAI-compatible chat completions (OpenAI, Groq, vLLM, Ollama, Workers AI's OpenAI endpoint).
 * The key comes from a Worker secret named by the workflow (`apiKeySecret`), never from the file.
 * We ask for a plain JSON answer; if a base URL streams anyway, the SSE chunks are assembled.
 */
import { CallFailure } from "../engine/call-failure.ts";
import type { ChatMessage, LlmRequest, LlmResponse, ModelToolCall } from "../engine/events.ts";
import { outboundFetch, readCapped } from "../tools/outbound.ts";
import { requireSecret } from "../tools/secrets.ts";
import type { ModelCallContext, ModelProvider } from "./model-provider.ts";
import { isEventStream, parseSse } from "./server-sent-events.ts";
import { functionName, parseToolArguments, toolNameMap } from "./tool-names.ts";

export { functionName };

function toWire(m: ChatMessage): Record<string, unknown> {
  if (m.role === "assistant" && m.toolCalls?.length) {
    return { role: "assistant", content: m.content, tool_calls: m.toolCalls.map((t) => ({ id: t.id, type: "function", function: { name: functionName(t.name), arguments: JSON.stringify(t.args) } })) };
  }
  if (m.role === "tool") return { role: "tool", tool_call_id: m.toolCallId, content: m.content ?? "" };
  return { role: m.role, content: m.content ?? "" };
}

interface WireToolCall {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}
interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number };
}
interface WireResponse {
  choices?: Array<{ message?: { content?: string | null; tool_calls?: WireToolCall[] }; delta?: { content?: string | null; tool_calls?: WireToolCall[] }; finish_reason?: string | null }>;
  usage?: WireUsage | null;
  error?: { message?: string };
}

/** Folds streamed chunks into the shape of a non-streamed answer. */
export function assembleOpenAiStream(text: string, what: string): WireResponse {
  let content: string | null = null;
  const calls: WireToolCall[] = [];
  let finish: string | undefined;
  let usage: WireUsage | undefined;
  for (const rec of parseSse(text)) {
    if (rec.data === "[DONE]") break;
    let chunk: WireResponse;
    try {
      chunk = JSON.parse(rec.data) as WireResponse;
    } catch {
      throw new CallFailure(`${what} streamed a malformed chunk`, { retryable: true });
    }
    if (chunk.error) throw new CallFailure(`${what} streamed an error: ${chunk.error.message ?? "unknown"}`, { retryable: true });
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    if (choice.finish_reason) finish = choice.finish_reason;
    const delta = choice.delta ?? choice.message;
    if (delta?.content) content = (content ?? "") + delta.content;
    for (const tc of delta?.tool_calls ?? []) {
      const i = tc.index ?? calls.length;
      const cur = (calls[i] ??= { id: tc.id, function: { name: "", arguments: "" } });
      if (tc.id) cur.id = tc.id;
      if (tc.function?.name) cur.function!.name = (cur.function!.name ?? "") + tc.function.name;
      if (tc.function?.arguments) cur.function!.arguments = (cur.function!.arguments ?? "") + tc.function.arguments;
    }
  }
  return { choices: [{ message: { content, tool_calls: calls.filter(Boolean) }, finish_reason: finish ?? null }], usage: usage ?? null };
}

export function parseOpenAiResponse(wire: WireResponse, request: LlmRequest, callId: string, what: string, status?: number): LlmResponse {
  const choice = wire.choices?.[0];
  if (!choice?.message) throw new CallFailure(`${what} sent no choices`, { ...(status ? { status } : {}), retryable: true });
  const names = toolNameMap(request.tools);
  const toolCalls: ModelToolCall[] = (choice.message.tool_calls ?? []).map((tc, i) => {
    const fn = tc.function?.name ?? "";
    return { id: tc.id ?? `${callId}/t${i}`, name: names.get(fn) ?? fn, args: parseToolArguments(tc.function?.arguments) };
  });
  const cached = wire.usage?.prompt_tokens_details?.cached_tokens;
  return {
    text: choice.message.content ?? null,
    toolCalls,
    usage: { inputTokens: wire.usage?.prompt_tokens ?? 0, outputTokens: wire.usage?.completion_tokens ?? 0, ...(cached ? { cachedTokens: cached } : {}) },
    ...(choice.finish_reason ? { finishReason: choice.finish_reason } : {}),
  };
}

export const openAiCompatibleProvider: ModelProvider = {
  async complete(request: LlmRequest, ctx: ModelCallContext): Promise<LlmResponse> {
    const p = ctx.doc.provider;
    if (p.kind !== "openai") throw new CallFailure("openai provider used by a workflow with another provider", { retryable: false });
    const headers: Record<string, string> = { "content-type": "application/json", "idempotency-key": ctx.idempotencyKey };
    if (p.apiKeySecret) headers.authorization = `Bearer ${requireSecret(ctx.env, p.apiKeySecret)}`;
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
    if (!res.ok) throw CallFailure.fromResponse(what, res, text);
    if (isEventStream(res)) return parseOpenAiResponse(assembleOpenAiStream(text, what), request, ctx.callId, what, res.status);
    let wire: WireResponse;
    try {
      wire = JSON.parse(text) as WireResponse;
    } catch {
      throw new CallFailure(`${what} sent malformed JSON (HTTP ${res.status})`, { status: res.status, retryable: true });
    }
    return parseOpenAiResponse(wire, request, ctx.callId, what, res.status);
  },
};
