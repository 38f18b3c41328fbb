// A stand-in for the Workers AI binding: `env.AI.run(model, inputs)` answers in the classic
// Workers AI shape ({ response, tool_calls, usage }); model names pick error scenarios.
import { WorkerEntrypoint } from "cloudflare:workers";

export default class FakeWorkersAi extends WorkerEntrypoint {
  async run(model, inputs) {
    if (model === "@cf/fake/bad-input") throw new Error("AiError: 400: Bad input: messages must not be empty");
    const messages = inputs.messages ?? [];
    const tools = inputs.tools ?? [];
    const hasToolResult = messages.some((m) => m.role === "tool");
    const user = messages.find((m) => m.role === "user")?.content ?? "";
    const usage = { prompt_tokens: 30, completion_tokens: 7, total_tokens: 37 };
    if (tools.length && !hasToolResult) {
      const claimId = /claim\s+(\S+)/i.exec(user)?.[1] ?? "unknown";
      return { response: "", tool_calls: [{ name: tools[0].function.name, arguments: { claimId } }], usage };
    }
    return { response: hasToolResult ? '{"recommendation":"pay","summary":"workers ai saw the tool result"}' : '{"risk":"low"}', usage };
  }
}
