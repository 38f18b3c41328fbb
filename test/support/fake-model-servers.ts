/**
 * Fake model providers speaking each wire format exactly: OpenAI chat completions and
 * Anthropic Messages, with tool calls, usage (including cached tokens), errors in the
 * providers' own shapes, 429 with retry-after, malformed JSON, forced streaming, and a hung
 * connection. The scenario is chosen by the model name, so a workflow selects it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export interface ModelRequestLog {
  attemptsFor(key: string | null): number;
}

type Json = Record<string, unknown>;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

function sse(res: ServerResponse, events: Array<{ event?: string; data: unknown }>) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  for (const e of events) res.write(`${e.event ? `event: ${e.event}\n` : ""}data: ${typeof e.data === "string" ? e.data : JSON.stringify(e.data)}\n\n`);
  res.end();
}

function claimIdFrom(text: string): string {
  return /claim\s+(\S+)/i.exec(text)?.[1] ?? "unknown";
}

/** Returns true when it answered; a hung request is left open on purpose. */
export function fakeOpenAi(req: IncomingMessage, res: ServerResponse, body: Json, log: ModelRequestLog): void {
  const model = String(body.model ?? "");
  const key = (req.headers["idempotency-key"] as string | undefined) ?? null;
  const attempt = log.attemptsFor(key);
  if (model === "fake-hang") return; // never answers: the caller's timeout must fire
  if (model === "fake-400") return send(res, 400, { error: { message: "Invalid value for 'model': fake-400 does not exist", type: "invalid_request_error", code: "model_not_found" } });
  if (model === "fake-401") return send(res, 401, { error: { message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key" } });
  if (model === "fake-429-once" && attempt === 1) return send(res, 429, { error: { message: "Rate limit reached for requests", type: "requests" } }, { "retry-after": "1" });
  if (model === "fake-500-always") return send(res, 500, { error: { message: "The server had an error while processing your request", type: "server_error" } });
  if (model === "fake-malformed-once" && attempt === 1) return send(res, 200, '{"id":"chatcmpl-1","choices":[{"message":');
  const messages = (body.messages as Array<{ role: string; content?: string | null }>) ?? [];
  const tools = (body.tools as Array<{ function: { name: string } }>) ?? [];
  const hasToolResult = messages.some((m) => m.role === "tool");
  const user = messages.find((m) => m.role === "user")?.content ?? "";
  const usage = { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60, prompt_tokens_details: { cached_tokens: 8 } };
  const wantTool = tools.length > 0 && !hasToolResult;
  const content = hasToolResult ? '{"recommendation":"pay","summary":"fake model saw the tool result"}' : '{"risk":"low","note":"fake model"}';
  if (model === "fake-stream") {
    const base = { id: "chatcmpl-s", object: "chat.completion.chunk", model };
    if (wantTool) {
      const args = JSON.stringify({ claimId: claimIdFrom(user) });
      return sse(res, [
        { data: { ...base, choices: [{ index: 0, delta: { role: "assistant", tool_calls: [{ index: 0, id: "call_s1", type: "function", function: { name: tools[0].function.name, arguments: "" } }] } }] } },
        { data: { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: args.slice(0, 5) } }] } }] } },
        { data: { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: args.slice(5) } }] }, finish_reason: "tool_calls" }] } },
        { data: { ...base, choices: [], usage } },
        { data: "[DONE]" },
      ]);
    }
    return sse(res, [
      { data: { ...base, choices: [{ index: 0, delta: { role: "assistant", content: content.slice(0, 10) } }] } },
      { data: { ...base, choices: [{ index: 0, delta: { content: content.slice(10) }, finish_reason: "stop" }] } },
      { data: { ...base, choices: [], usage } },
      { data: "[DONE]" },
    ]);
  }
  if (wantTool) {
    return send(res, 200, { id: "chatcmpl-1", object: "chat.completion", model, choices: [{ index: 0, finish_reason: "tool_calls", message: { role: "assistant", content: null, tool_calls: [{ id: "call_fake_1", type: "function", function: { name: tools[0].function.name, arguments: JSON.stringify({ claimId: claimIdFrom(user) }) } }] } }], usage });
  }
  return send(res, 200, { id: "chatcmpl-2", object: "chat.completion", model, choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content } }], usage });
}

export function fakeAnthropic(req: IncomingMessage, res: ServerResponse, body: Json, log: ModelRequestLog): void {
  const key = (req.headers["idempotency-key"] as string | undefined) ?? null;
  const attempt = log.attemptsFor(key);
  if (!req.headers["x-api-key"]) return send(res, 401, { type: "error", error: { type: "authentication_error", message: "x-api-key header is required" } });
  if (req.headers["anthropic-version"] !== "2023-06-01") return send(res, 400, { type: "error", error: { type: "invalid_request_error", message: "anthropic-version header is required" } });
  const model = String(body.model ?? "");
  if (typeof body.max_tokens !== "number") return send(res, 400, { type: "error", error: { type: "invalid_request_error", message: "max_tokens: Field required" } });
  if (model === "claude-fake-400") return send(res, 400, { type: "error", error: { type: "invalid_request_error", message: "model: claude-fake-400 is not a valid model" } });
  if (model === "claude-fake-overloaded-once" && attempt === 1) return send(res, 529, { type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
  if (model === "claude-fake-429-once" && attempt === 1) return send(res, 429, { type: "error", error: { type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit" } }, { "retry-after": "1" });
  const messages = (body.messages as Array<{ role: string; content: Array<{ type: string; text?: string }> | string }>) ?? [];
  // roles must alternate, starting with user
  for (let i = 0; i < messages.length; i++) {
    if (messages[i].role !== (i % 2 === 0 ? "user" : "assistant")) return send(res, 400, { type: "error", error: { type: "invalid_request_error", message: `messages: roles must alternate between "user" and "assistant" (index ${i})` } });
  }
  const tools = (body.tools as Array<{ name: string }>) ?? [];
  const blocks = messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [{ type: "text", text: m.content }]));
  const hasToolResult = blocks.some((b) => b.type === "tool_result");
  const userText = blocks.find((b) => b.type === "text")?.text ?? "";
  const usage = { input_tokens: 60, output_tokens: 12, cache_read_input_tokens: 5, cache_creation_input_tokens: 0 };
  const wantTool = tools.length > 0 && !hasToolResult;
  const text = hasToolResult ? '{"recommendation":"pay","summary":"claude saw the tool result"}' : '{"risk":"low","note":"claude"}';
  const content = wantTool ? [{ type: "text", text: "Let me look that up." }, { type: "tool_use", id: "toolu_01", name: tools[0].name, input: { claimId: claimIdFrom(userText) } }] : [{ type: "text", text }];
  const stop = wantTool ? "tool_use" : "end_turn";
  if (model === "claude-fake-stream") {
    const events: Array<{ event: string; data: unknown }> = [{ event: "message_start", data: { type: "message_start", message: { id: "msg_s", type: "message", role: "assistant", content: [], model, usage: { input_tokens: 60, output_tokens: 1, cache_read_input_tokens: 5 } } } }];
    content.forEach((c, index) => {
      if (c.type === "text") {
        events.push({ event: "content_block_start", data: { type: "content_block_start", index, content_block: { type: "text", text: "" } } });
        events.push({ event: "content_block_delta", data: { type: "content_block_delta", index, delta: { type: "text_delta", text: (c as { text: string }).text.slice(0, 7) } } });
        events.push({ event: "content_block_delta", data: { type: "content_block_delta", index, delta: { type: "text_delta", text: (c as { text: string }).text.slice(7) } } });
      } else {
        const json = JSON.stringify((c as { input: unknown }).input);
        events.push({ event: "content_block_start", data: { type: "content_block_start", index, content_block: { type: "tool_use", id: (c as { id: string }).id, name: (c as { name: string }).name, input: {} } } });
        events.push({ event: "content_block_delta", data: { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: json.slice(0, 4) } } });
        events.push({ event: "content_block_delta", data: { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: json.slice(4) } } });
      }
      events.push({ event: "content_block_stop", data: { type: "content_block_stop", index } });
    });
    events.push({ event: "message_delta", data: { type: "message_delta", delta: { stop_reason: stop }, usage: { output_tokens: 12 } } });
    events.push({ event: "message_stop", data: { type: "message_stop" } });
    return sse(res, events);
  }
  return send(res, 200, { id: "msg_01", type: "message", role: "assistant", model, content, stop_reason: stop, usage });
}
