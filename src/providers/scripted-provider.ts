/**
 * The deterministic scripted provider: the n-th model call of a run gets turn n of the
 * workflow's script, templated from run state. No network; replays identically.
 */
import { CallFailure } from "../engine/call-failure.ts";
import type { LlmRequest, LlmResponse } from "../engine/events.ts";
import { render } from "../engine/template.ts";
import { estimateTokens, type ModelCallContext, type ModelProvider } from "./model-provider.ts";

export const scriptedProvider: ModelProvider = {
  async complete(request: LlmRequest, ctx: ModelCallContext): Promise<LlmResponse> {
    if (ctx.doc.provider.kind !== "scripted") throw new CallFailure("scripted provider used by a workflow with another provider", { retryable: false });
    const name = ctx.doc.provider.script;
    const script = ctx.doc.scripts[name];
    const turn = script?.turns[request.turn];
    if (!turn) throw new CallFailure(`scripted provider "${name}" has no turn ${request.turn + 1} (it has ${script?.turns.length ?? 0})`, { retryable: false });
    const promptTokens = estimateTokens(request.messages.map((m) => m.content ?? "").join("\n"));
    if ("text" in turn) {
      const text = String(render(turn.text, ctx.scope) ?? "");
      return { text, toolCalls: [], usage: { inputTokens: turn.usage?.input_tokens ?? promptTokens, outputTokens: turn.usage?.output_tokens ?? estimateTokens(text) }, finishReason: "stop" };
    }
    const toolCalls = turn.tool_calls.map((tc, i) => ({ id: `call_${request.turn}_${i}`, name: tc.name, args: render(tc.args, ctx.scope) as Record<string, unknown> }));
    return { text: null, toolCalls, usage: { inputTokens: turn.usage?.input_tokens ?? promptTokens, outputTokens: turn.usage?.output_tokens ?? estimateTokens(JSON.stringify(toolCalls)) }, finishReason: "tool_calls" };
  },
};
