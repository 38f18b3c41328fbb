/** Built-in tools: deterministic helpers that need no network. */
import { CallFailure } from "../engine/call-failure.ts";
import { lookup } from "../engine/template.ts";

export function callBuiltinTool(builtin: "echo" | "json.pick", args: unknown): { body: unknown } {
  switch (builtin) {
    case "echo":
      return { body: args };
    case "json.pick": {
      const a = args as { value?: unknown; path?: unknown };
      if (typeof a?.path !== "string") throw new CallFailure('json.pick needs args.path (a dotted path) and args.value', { retryable: false });
      return { body: lookup(a.value, a.path) ?? null };
    }
  }
}
