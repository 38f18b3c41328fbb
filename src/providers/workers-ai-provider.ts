/**
 * The Workers AI binding (`env.AI.run(model, { messages, tools, max_tokens })`). Models answer
 * either in the classic shape (`response`, `tool_calls`) or the OpenAI shape (`choices`).
 */
import { CallFailure } from "../engine/call-failure.ts";
import type { LlmRequest, LlmResponse, ModelToolCall } from "../engine/events.ts";
import type { ModelCallContext, ModelProvider } from "./model-provider.ts";
import { functionName, toolNameMap } from "./tool-names.ts";

interface AiBinding {
  run(model: string, inputs: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown>;
}

interface AiAnswer {
  response?: string | null;
  tool_calls?: Array<{ id?: string; name?: string; arguments?: unknown; function?: { name?: string; arguments?: unknown } }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  choices?: Array<{ message?: { content?: string | null; tool_calls?: AiAnswer["tool_calls"] }; finish_reason?: string }>;
}

function args(raw: unknown): Record<string, unknown> {
  if (typeof raw === "string") {
    try {
      return JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return { _unparsed: raw };
    }
  }
  return raw && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
}

/** Classifies a binding error: capacity and 5xx/429 are retryable, input errors are not. */
function classify(err: unknown): CallFailure {
  const message = err instanceof Error ? err.message : String(err);
  const retryable = !/\b(400|401|403|404|422)\b|invalid|not found|unauthori[sz]ed/i.test(message);
  return new CallFailure(`Workers AI: ${message}`, { retryable });
}

export const workersAiProvider: ModelProvider = {
  async complete(request: LlmRequest, ctx: ModelCallContext): Promise<LlmResponse> {
    const p = ctx.doc.provider;
    if (p.kind !== "workers-ai") throw new CallFailure("workers-ai provider used by a workflow with another provider", { retryable: false });
    const binding = ctx.env[p.binding] as AiBinding | undefined;
    if (!binding || typeof binding.run !== "function") throw new CallFailure(`binding ${p.binding} is not configured (add "ai": { "binding": "${p.binding}" } to wrangler.jsonc)`, { retryable: false });
    const inputs: Record<string, unknown> = {
      messages: request.messages.map((m) => (m.role === "tool" ? { role: "tool", content: m.content ?? "", tool_call_id: m.toolCallId, name: m.name ? functionName(m.name) : undefined } : { role: m.role, content: m.content ?? "" })),
      ...(request.maxTokens ? { max_tokens: request.maxTokens } : {}),
    };
    if (request.tools.length) {
      inputs.tools = request.tools.map((t) => {
        const def = ctx.doc.tools[t];
        return { type: "function", function: { name: functionName(t), description: def?.description ?? t, parameters: def?.parameters ?? { type: "object", properties: {} } } };
      });
    }
    let answer: AiAnswer;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new CallFailure(`Workers AI timed out after ${p.timeoutMs} ms`, { retryable: true })), p.timeoutMs)));
      answer = (await Promise.race([binding.run(request.model, inputs), timeout])) as AiAnswer;
    } catch (err) {
      throw err instanceof CallFailure ? err : classify(err);
    } finally {
      clearTimeout(timer);
    }
    if (!answer || typeof answer !== "object") throw new CallFailure("Workers AI returned no answer", { retryable: true });
    const names = toolNameMap(request.tools);
    const msg = answer.choices?.[0]?.message;
    const rawCalls = msg?.tool_calls ?? answer.tool_calls ?? [];
    const toolCalls: ModelToolCall[] = rawCalls.map((tc, i) => {
      const fn = tc.function?.name ?? tc.name ?? "";
      return { id: tc.id ?? `${ctx.callId}/t${i}`, name: names.get(fn) ?? fn, args: args(tc.function?.arguments ?? tc.arguments) };
    });
    const text = msg ? (msg.content ?? null) : (answer.response ?? null);
    return {
      text: text === "" && toolCalls.length ? null : text,
      toolCalls,
      usage: { inputTokens: answer.usage?.prompt_tokens ?? 0, outputTokens: answer.usage?.completion_tokens ?? 0 },
      ...(answer.choices?.[0]?.finish_reason ? { finishReason: answer.choices[0].finish_reason } : {}),
    };
  },
};
