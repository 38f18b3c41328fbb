import type { WorkflowDocument } from "../engine/workflow-schema.ts";
import { anthropicProvider } from "./anthropic-provider.ts";
import type { ModelProvider } from "./model-provider.ts";
import { openAiCompatibleProvider } from "./openai-compatible-provider.ts";
import { scriptedProvider } from "./scripted-provider.ts";
import { workersAiProvider } from "./workers-ai-provider.ts";

export function providerFor(doc: WorkflowDocument): ModelProvider {
  switch (doc.provider.kind) {
    case "scripted":
      return scriptedProvider;
    case "openai":
      return openAiCompatibleProvider;
    case "anthropic":
      return anthropicProvider;
    case "workers-ai":
      return workersAiProvider;
  }
}
