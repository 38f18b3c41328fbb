/** One interface for every model provider. A failure throws CallFailure (retryable or not). */
import type { LlmRequest, LlmResponse } from "../engine/events.ts";
import type { WorkflowDocument } from "../engine/workflow-schema.ts";
import type { HostMap } from "../tools/outbound.ts";

export interface ModelCallContext {
  doc: WorkflowDocument;
  scope: Record<string, unknown>;
  idempotencyKey: string;
  callId: string;
  env: Record<string, unknown>;
  hosts: HostMap;
  signal?: AbortSignal;
}

export interface ModelProvider {
  complete(request: LlmRequest, ctx: ModelCallContext): Promise<LlmResponse>;
}

/** Rough token estimate (4 characters a token) for providers that report no usage. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
