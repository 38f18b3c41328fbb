/**
 * CEL expressions (branch conditions, later policy rules), compiled once and cached by source.
 * `@marcbachmann/cel-js` interprets an AST: no eval, safe in Workers. JavaScript numbers are
 * CEL doubles; integer literals compare with them as CEL's heterogeneous comparison allows.
 */
import { parse } from "@marcbachmann/cel-js";
import { compileCel } from "./cel-compiler.ts";

type Compiled = (context: Record<string, unknown>) => unknown;
const cache = new Map<string, Compiled>();

/** cel-js's checked program, run by closures for the common subset (cel-compiler.ts) and by its interpreter otherwise. */
function fastPath(program: ReturnType<typeof parse>): Compiled {
  const fast = compileCel((program as unknown as { ast: unknown }).ast);
  if (!fast) return program;
  return (ctx) => {
    try {
      return fast(ctx);
    } catch {
      return program(ctx); // the interpreter gives the authoritative result or error
    }
  };
}

export class ExpressionError extends Error {}

export function compileExpression(source: string): Compiled {
  let compiled = cache.get(source);
  if (!compiled) {
    try {
      compiled = fastPath(parse(source));
    } catch (err) {
      throw new ExpressionError(`invalid CEL expression: ${(err as Error).message}`);
    }
    if (cache.size > 5_000) cache.clear();
    cache.set(source, compiled);
  }
  return compiled;
}

export function evaluateExpression(source: string, context: Record<string, unknown>): unknown {
  const compiled = compileExpression(source);
  try {
    return compiled(context);
  } catch (err) {
    throw new ExpressionError(`CEL expression "${source}" failed: ${(err as Error).message.split("\n")[0]}`);
  }
}

export function evaluateCondition(source: string, context: Record<string, unknown>): boolean {
  const value = evaluateExpression(source, context);
  if (typeof value !== "boolean") throw new ExpressionError(`CEL expression "${source}" must be a boolean, got ${typeof value}`);
  return value;
}
