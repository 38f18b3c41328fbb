/**
 * A closure compiler for the common subset of CEL that policies and branches use: field access,
 * comparisons, equality, `&&` / `||` / `!`, `in` a list, `double()`, `size()`, string
 * `startsWith` / `endsWith` / `contains`, and timestamp `getDayOfWeek()` / `getHours()`.
 * The AST comes from cel-js (which also type-checks it); anything outside the subset returns
 * null and cel-js's interpreter evaluates it. No eval: plain closures. Semantics follow
 * cel-js, checked by a property test that runs both on generated expressions.
 */
type Ctx = Record<string, unknown>;
type Fn = (ctx: Ctx) => unknown;
interface Node {
  op: string;
  args: unknown;
}

class CelRuntimeError extends Error {}

const isNum = (v: unknown): v is number | bigint => typeof v === "number" || typeof v === "bigint";

function member(obj: unknown, key: string): unknown {
  if (obj instanceof Map) {
    if (!obj.has(key)) throw new CelRuntimeError(`No such key: ${key}`);
    return obj.get(key);
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj) || obj instanceof Date) throw new CelRuntimeError(`no such field ${key}`);
  if (!Object.prototype.hasOwnProperty.call(obj, key)) throw new CelRuntimeError(`No such key: ${key}`);
  return (obj as Record<string, unknown>)[key];
}

function equal(a: unknown, b: unknown): boolean {
  if (typeof a === "string") return a === b;
  if (isNum(a) && isNum(b)) return typeof a === typeof b ? a === b : Number(a) === Number(b);
  if (typeof a === "string" || typeof a === "boolean" || a === null) return a === b;
  throw new CelRuntimeError("unsupported equality"); // lists, maps: leave to cel-js
}

function compare(op: string, a: unknown, b: unknown): boolean {
  if (!((isNum(a) && isNum(b)) || (typeof a === "string" && typeof b === "string"))) throw new CelRuntimeError(`no such overload: ${op}`);
  const x = typeof a === "bigint" && typeof b === "number" ? Number(a) : a;
  const y = typeof b === "bigint" && typeof a === "number" ? Number(b) : b;
  switch (op) {
    case "<":
      return (x as number) < (y as number);
    case "<=":
      return (x as number) <= (y as number);
    case ">":
      return (x as number) > (y as number);
    default:
      return (x as number) >= (y as number);
  }
}

/** Compiles an AST node, or returns null when the node is outside the subset. */
function compileNode(n: Node): Fn | null {
  const a = n.args;
  switch (n.op) {
    case "value": {
      if (typeof a !== "string" && typeof a !== "boolean" && typeof a !== "bigint" && typeof a !== "number" && a !== null) return null;
      return () => a;
    }
    case "id": {
      const name = a as string;
      return (ctx) => {
        const v = ctx[name];
        if (v === undefined && !(name in ctx)) throw new CelRuntimeError(`Unknown variable: ${name}`);
        return v;
      };
    }
    case ".": {
      const [objN, key] = a as [Node, string];
      const obj = compileNode(objN);
      return obj && ((ctx) => member(obj(ctx), key));
    }
    case "&&":
    case "||": {
      const [l, r] = (a as Node[]).map(compileNode);
      if (!l || !r) return null;
      const short = n.op === "||";
      // CEL's commutative logic: a side that decides the result wins even if the other errs
      return (ctx) => {
        let le: unknown = null;
        let lv: unknown;
        try {
          lv = l(ctx);
          if (typeof lv !== "boolean") throw new CelRuntimeError("no such overload");
          if (lv === short) return short;
        } catch (err) {
          le = err;
        }
        const rv = r(ctx);
        if (typeof rv !== "boolean") throw new CelRuntimeError("no such overload");
        if (rv === short) return short;
        if (le) throw le;
        return !short;
      };
    }
    case "!_": {
      const x = compileNode(a as Node);
      return (
        x &&
        ((ctx) => {
          const v = x(ctx);
          if (typeof v !== "boolean") throw new CelRuntimeError("no such overload: !_");
          return !v;
        })
      );
    }
    case "==":
    case "!=": {
      const [l, r] = (a as Node[]).map(compileNode);
      if (!l || !r) return null;
      const neg = n.op === "!=";
      return (ctx) => equal(l(ctx), r(ctx)) !== neg;
    }
    case "<":
    case "<=":
    case ">":
    case ">=": {
      // ordering against null or a boolean literal is ill-typed: cel-js rejects it, so do not compile it
      if ((a as Node[]).some((x) => x.op === "value" && (x.args === null || typeof x.args === "boolean"))) return null;
      const [l, r] = (a as Node[]).map(compileNode);
      if (!l || !r) return null;
      const op = n.op;
      // numbers on both sides (the common case: amounts, counts) compare directly
      switch (op) {
        case "<":
          return (ctx) => {
            const x = l(ctx);
            const y = r(ctx);
            return typeof x === "number" && typeof y === "number" ? x < y : compare(op, x, y);
          };
        case "<=":
          return (ctx) => {
            const x = l(ctx);
            const y = r(ctx);
            return typeof x === "number" && typeof y === "number" ? x <= y : compare(op, x, y);
          };
        case ">":
          return (ctx) => {
            const x = l(ctx);
            const y = r(ctx);
            return typeof x === "number" && typeof y === "number" ? x > y : compare(op, x, y);
          };
        default:
          return (ctx) => {
            const x = l(ctx);
            const y = r(ctx);
            return typeof x === "number" && typeof y === "number" ? x >= y : compare(op, x, y);
          };
      }
    }
    case "in": {
      const [elN, listN] = a as [Node, Node];
      if (listN.op !== "list") return null;
      const el = compileNode(elN);
      const items = (listN.args as Node[]).map(compileNode);
      if (!el || items.some((i) => !i)) return null;
      return (ctx) => {
        const v = el(ctx);
        return items.some((i) => equal(v, i!(ctx)));
      };
    }
    case "call": {
      const [name, argNodes] = a as [string, Node[]];
      const args = argNodes.map(compileNode);
      if (args.some((x) => !x) || args.length !== 1) return null;
      const x = args[0]!;
      if (name === "double")
        return (ctx) => {
          const v = x(ctx);
          if (typeof v === "number") return v;
          if (typeof v === "bigint") return Number(v);
          throw new CelRuntimeError("unsupported double()"); // strings etc.: leave to cel-js semantics
        };
      if (name === "size")
        return (ctx) => {
          const v = x(ctx);
          if (Array.isArray(v)) return BigInt(v.length);
          throw new CelRuntimeError("unsupported size()");
        };
      return null;
    }
    case "rcall": {
      const [name, targetN, argNodes] = a as [string, Node, Node[]];
      const target = compileNode(targetN);
      const args = argNodes.map(compileNode);
      if (!target || args.some((x) => !x)) return null;
      if ((name === "startsWith" || name === "endsWith" || name === "contains") && args.length === 1) {
        const arg = args[0]!;
        return (ctx) => {
          const s = target(ctx);
          const p = arg(ctx);
          if (typeof s !== "string" || typeof p !== "string") throw new CelRuntimeError(`no such overload: ${name}`);
          return name === "startsWith" ? s.startsWith(p) : name === "endsWith" ? s.endsWith(p) : s.includes(p);
        };
      }
      if ((name === "getDayOfWeek" || name === "getHours") && args.length === 0) {
        return (ctx) => {
          const d = target(ctx);
          if (!(d instanceof Date)) throw new CelRuntimeError(`no such overload: ${name}`);
          return BigInt(name === "getDayOfWeek" ? d.getUTCDay() : d.getUTCHours());
        };
      }
      return null;
    }
    default:
      return null;
  }
}

/**
 * The compiled form, or null. A compiled expression that meets a case it does not handle at
 * run time throws CelRuntimeError; callers then fall back to the interpreter for that call.
 */
export function compileCel(ast: unknown): Fn | null {
  try {
    return compileNode(ast as Node);
  } catch {
    return null;
  }
}

export { CelRuntimeError };
