/**
 * Anthropic Messages API with tool use. System prompts go to `system`, tool results go back as
 * `tool_result` blocks in a user turn. The key is the Worker secret named by `apiKeySecret`.
 */
import { CallFailure } from "../engine/call-failure.ts";
import type { ChatMessage, LlmRequest, LlmResponse, ModelToolCall } from "../engine/events.ts";
import { outboundFetch, readCapped } from "../tools/outbound.ts";
import { requireSecret } from "../tools/secrets.ts";
import type { ModelCallContext, ModelProvider } from "./model-provider.ts";
import { isEventStream, parseSse } from "./server-sent-events.ts";
import { functionName, parseToolArguments, toolNameMap } from "./tool-names.ts";

export const ANTHROPIC_VERSION = "2023-06-01";

type Block = { type: "text"; text: string } | { type: "tool_use"; id: string; name: string; input: unknown } | { type: "tool_result"; tool_use_id: string; content: string };
interface WireMessage {
  role: "user" | "assistant";
  content: Block[];
}

/** Maps the neutral conversation to Anthropic turns: roles alternate, tool results merge into one user turn. */
export function toAnthropicMessages(messages: readonly ChatMessage[]): { system?: string; messages: WireMessage[] } {
  const system = messages.filter((m) => m.role === "system").map((m) => m.content ?? "").join("\n\n");
  const out: WireMessage[] = [];
  const push = (role: "user" | "assistant", blocks: Block[]) => {
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const m of messages) {
    if (m.role === "system") continue;
    if (m.role === "user") push("user", [{ type: "text", text: m.content ?? "" }]);
    else if (m.role === "tool") push("user", [{ type: "tool_result", tool_use_id: m.toolCallId ?? "", content: m.content ?? "" }]);
    else {
      const blocks: Block[] = m.content ? [{ type: "text", text: m.content }] : [];
      for (const t of m.toolCalls ?? []) blocks.push({ type: "tool_use", id: t.id, name: functionName(t.name), input: t.args });
      push("assistant", blocks.length ? blocks : [{ type: "text", text: "" }]);
    }
  }
  return { ...(system ? { system } : {}), messages: out };
}

interface WireContent {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
}
interface WireUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
}
interface WireResponse {
  type?: string;
  content?: WireContent[];
  stop_reason?: string | null;
  usage?: WireUsage;
  error?: { type?: string; message?: string };
}

/** Folds a Messages stream (message_start, content_block_*, message_delta) into one response. */
export function assembleAnthropicStream(text: string, what: string): WireResponse {
  const blocks: Array<WireContent & { json?: string }> = [];
  const usage: WireUsage = {};
  let stop: string | null = null;
  for (const rec of parseSse(text)) {
    let ev: Record<string, unknown>;
    try {
      ev = JSON.parse(rec.data) as Record<string, unknown>;
    } catch {
      throw new CallFailure(`${what} streamed a malformed event`, { retryable: true });
    }
    const type = (ev.type as string) ?? rec.event;
    if (type === "error") {
      const err = ev.error as { type?: string; message?: string } | undefined;
      throw new CallFailure(`${what} streamed an error: ${err?.type ?? "error"}: ${err?.message ?? "unknown"}`, { retryable: err?.type === "overloaded_error" || err?.type === "api_error" || err?.type === "rate_limit_error" });
    }
    if (type === "message_start") Object.assign(usage, (ev.message as { usage?: WireUsage })?.usage ?? {});
    if (type === "content_block_start") blocks[ev.index as number] = { ...(ev.content_block as WireContent) };
    if (type === "content_block_delta") {
      const b = blocks[ev.index as number];
      const d = ev.delta as { type: string; text?: string; partial_json?: string };
      if (b && d.type === "text_delta") b.text = (b.text ?? "") + (d.text ?? "");
      if (b && d.type === "input_json_delta") b.json = (b.json ?? "") + (d.partial_json ?? "");
    }
    if (type === "message_delta") {
      stop = ((ev.delta as { stop_reason?: string })?.stop_reason ?? stop) as string | null;
      Object.assign(usage, (ev.usage as WireUsage) ?? {});
    }
  }
  const content = blocks.filter(Boolean).map((b) => (b.type === "tool_use" ? { type: b.type, id: b.id, name: b.name, input: b.json ? parseToolArguments(b.json) : (b.input ?? {}) } : { type: b.type, text: b.text ?? "" }));
  return { type: "message", content, stop_reason: stop, usage };
}

export function parseAnthropicResponse(wire: WireResponse, request: LlmRequest, what: string): LlmResponse {
  if (!Array.isArray(wire.content)) throw new CallFailure(`${what} sent no content`, { retryable: true });
  const names = toolNameMap(request.tools);
  const texts = wire.content.filter((c) => c.type === "text").map((c) => c.text ?? "");
  const toolCalls: ModelToolCall[] = wire.content
    .filter((c) => c.type === "tool_use")
    .map((c) => ({ id: c.id ?? "", name: names.get(c.name ?? "") ?? c.name ?? "", args: (c.input && typeof c.input === "object" ? c.input : {}) as Record<string, unknown> }));
  const cached = wire.usage?.cache_read_input_tokens;
  return {
    text: texts.length ? texts.join("") : null,
    toolCalls,
    usage: { inputTokens: wire.usage?.input_tokens ?? 0, outputTokens: wire.usage?.output_tokens ?? 0, ...(cached ? { cachedTokens: cached } : {}) },
    ...(wire.stop_reason ? { finishReason: wire.stop_reason } : {}),
  };
}

export const anthropicProvider: ModelProvider = {
  async complete(request: LlmRequest, ctx: ModelCallContext): Promise<LlmResponse> {
    const p = ctx.doc.provider;
    if (p.kind !== "anthropic") throw new CallFailure("anthropic provider used by a workflow with another provider", { retryable: false });
    const key = requireSecret(ctx.env, p.apiKeySecret);
    const { system, messages } = toAnthropicMessages(request.messages);
    const body: Record<string, unknown> = { model: request.model, max_tokens: request.maxTokens ?? p.maxTokens, messages, ...(system ? { system } : {}) };
    if (request.tools.length) {
      body.tools = request.tools.map((t) => {
        const def = ctx.doc.tools[t];
        return { name: functionName(t), description: def?.description ?? t, input_schema: def?.parameters ?? { type: "object", additionalProperties: true } };
      });
    }
    const headers = { "content-type": "application/json", "x-api-key": key, "anthropic-version": ANTHROPIC_VERSION, "idempotency-key": ctx.idempotencyKey };
    const what = `model provider at ${new URL(p.baseUrl).host}`;
    const res = await outboundFetch(`${p.baseUrl.replace(/\/$/, "")}/v1/messages`, { method: "POST", headers, body: JSON.stringify(body) }, ctx.hosts, what, p.timeoutMs, ctx.signal);
    const text = await readCapped(res, what);
    if (!res.ok) throw CallFailure.fromResponse(what, res, text);
    if (isEventStream(res)) return parseAnthropicResponse(assembleAnthropicStream(text, what), request, what);
    let wire: WireResponse;
    try {
      wire = JSON.parse(text) as WireResponse;
    } catch {
      throw new CallFailure(`${what} sent malformed JSON (HTTP ${res.status})`, { status: res.status, retryable: true });
    }
    return parseAnthropicResponse(wire, request, what);
  },
};
