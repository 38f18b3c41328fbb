import { CallFailure } from "../engine/call-failure.ts";
import type { WorkflowDocument } from "../engine/workflow-schema.ts";
import { callBuiltinTool } from "./builtin-tools.ts";
import { callHttpTool, type ToolCallContext } from "./http-tool.ts";

export async function executeTool(doc: WorkflowDocument, ctx: ToolCallContext): Promise<{ status?: number; body: unknown }> {
  const def = doc.tools[ctx.name];
  if (!def) throw new CallFailure(`tool "${ctx.name}" is not defined in the workflow`, { retryable: false });
  return def.kind === "http" ? callHttpTool(def, ctx) : callBuiltinTool(def.builtin, ctx.args);
}
