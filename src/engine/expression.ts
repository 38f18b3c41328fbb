/**
 * CEL expressions (branch conditions, later policy rules), compiled once and cached by source.
 * `@marcbachmann/cel-js` interprets an AST: no eval, safe in Workers. JavaScript numbers are
 * CEL doubles; integer literals compare with them as CEL's heterogeneous comparison allows.
 */
import { parse } from "@marcbachmann/cel-js";
import { compileCel, compileCelProgram, type KnownValues } from "./cel-compiler.ts";

type Compiled = (context: Record<string, unknown>) => unknown;
const cache = new Map<string, Compiled>();

/** An expression's two evaluators: closures for the common subset (null outside it) and cel-js's interpreter, which is authoritative. */
export interface ExpressionParts {
  fast: Compiled | null;
  interpret: Compiled;
  /** The type-checked AST the closures were compiled from (null when cel-js rejects the expression statically), for `specialize`. */
  ast: unknown;
  /** Every variable path the expression reads, with its prefixes (`call`, `call.tool`), for `specialize`. */
  paths: ReadonlySet<string>;
}

/** The dotted paths (`a`, `a.b`, `a.b.c`) an AST reads, each with its prefixes. */
function pathsOf(ast: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(ast)) for (const x of ast) pathsOf(x, out);
  else if (ast && typeof ast === "object" && "op" in ast) {
    const n = ast as { op: unknown; args: unknown };
    const dotted = (x: { op: unknown; args: unknown }): string | null => {
      if (x.op === "id" && typeof x.args === "string") return x.args;
      if (x.op !== "." || !Array.isArray(x.args)) return null;
      const [obj, key] = x.args as [{ op: unknown; args: unknown }, unknown];
      const base = obj && typeof obj === "object" ? dotted(obj) : null;
      return base === null || typeof key !== "string" ? null : `${base}.${key}`;
    };
    const d = dotted(n);
    if (d !== null) out.add(d);
    pathsOf(n.args, out);
  }
  return out;
}

/** A second parse of the same source, type-checked (checking annotates the AST, so the interpreter's own program is left as parsed); null when cel-js rejects it. */
function checkedProgram(source: string): ReturnType<typeof parse> | null {
  try {
    const program = parse(source);
    return program.check().valid ? program : null;
  } catch {
    return null;
  }
}

/**
 * Closures for an expression that will only be run against contexts with the given `known`
 * values (e.g. `call.tool`), with what depends only on them folded; null outside the subset. A
 * closure that throws means "ask `interpret`", as for `fast`.
 */
export function specialize(p: ExpressionParts, known: KnownValues): Compiled | null {
  if (p.ast === null) return null;
  // nothing to fold: the shared closures are the same closures (no copy per caller)
  if (!Object.keys(known).some((k) => p.paths.has(k))) return p.fast;
  return compileCel(p.ast, known);
}

const parts = new Map<string, ExpressionParts>();

/** cel-js's checked program, run by closures for the common subset (cel-compiler.ts) and by its interpreter otherwise. */
function fastPath(program: ReturnType<typeof parse>, source: string): Compiled {
  const checked = checkedProgram(source);
  const fast = checked && compileCelProgram(checked);
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
    const checked = checkedProgram(source);
    p = { fast: checked && compileCelProgram(checked), interpret: program, ast: checked ? checked.ast : null, paths: pathsOf(program.ast) };
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
      compiled = fastPath(parse(source), source);
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
