/**
 * CEL expressions (branch conditions, later policy rules), compiled once and cached by source.
 * `@marcbachmann/cel-js` interprets an AST: no eval, safe in Workers. JavaScript numbers are
 * CEL doubles; integer literals compare with them as CEL's heterogeneous comparison allows.
 */
import { parse } from "@marcbachmann/cel-js";
import { compileCel } from "./cel-compiler.ts";

type Compiled = (context: Record<string, unknown>) => unknown;
const cache = new Map<string, Compiled>();

/** An expression's two evaluators: closures for the common subset (null outside it) and cel-js's interpreter, which is authoritative. */
export interface ExpressionParts {
  fast: Compiled | null;
  interpret: Compiled;
}
const parts = new Map<string, ExpressionParts>();

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

/**
 * Both evaluators, for a hot loop that runs `fast` and falls back to `interpret` itself when it
 * throws (one call instead of two per evaluation); `compileExpression` wraps the same pair.
 */
export function compileExpressionParts(source: string): ExpressionParts {
  let p = parts.get(source);
  if (!p) {
    let program: ReturnType<typeof parse>;
    try {
      program = parse(source);
    } catch (err) {
      throw new ExpressionError(`invalid CEL expression: ${(err as Error).message}`);
    }
    p = { fast: compileCel((program as unknown as { ast: unknown }).ast), interpret: program };
    if (parts.size > 5_000) parts.clear();
    parts.set(source, p);
  }
  return p;
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
