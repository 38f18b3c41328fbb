/**
 * A closure compiler for the common subset of CEL that policies and branches use: field access,
 * comparisons, equality, `&&` / `||` / `!` / `?:`, `in` a list, `+` / `-` / `*`, `double()`,
 * `int()`, `size()`, string `startsWith` / `endsWith` / `contains` / `matches` (a literal pattern
 * is compiled once), and timestamp accessors (`getDayOfWeek()`, `getHours()`, …, UTC).
 * The AST comes from cel-js; anything outside the subset returns null and cel-js's interpreter
 * evaluates it. No eval: plain closures. Semantics follow cel-js, checked by property tests that
 * run both on generated expressions and contexts.
 *
 * The contract with callers: a compiled closure either returns exactly what cel-js returns for
 * the same context, or throws (CelRuntimeError or any other error) — it throws for every value
 * shape it is not sure about, and the caller then asks the interpreter, whose answer (value or
 * error) is authoritative. So a closure never reports an error of its own.
 *
 * `known` lets a caller state facts true of every context the closure will see (e.g. the value
 * of `call.tool` for a decision on one tool); parts of the expression that depend only on them are
 * folded to constants at compile time (`call.tool == 'x' && …` becomes `false` for every other
 * tool). Folding follows CEL's commutative logic: `false && e` and `e && false` are false even
 * where `e` would fail.
 */
type Ctx = Record<string, unknown>;
type Fn = (ctx: Ctx) => unknown;
interface Node {
  op: string;
  args: unknown;
}
type Prim = string | number | bigint | boolean | null;

/** Dotted variable paths (`call.tool`) whose value is the same in every context a closure will be run against. */
export type KnownValues = Readonly<Record<string, Prim>>;

class CelRuntimeError extends Error {}

const hasOwn = Object.hasOwn;
const isPrim = (v: unknown): v is Prim => v === null || typeof v === "string" || typeof v === "number" || typeof v === "bigint" || typeof v === "boolean";
const MAX_INT = 9223372036854775807n;
const MIN_INT = -9223372036854775808n;

function fail(what: string): never {
  throw new CelRuntimeError(what);
}

/** Field access as cel-js does it: an own, defined field of a plain object or a Map's entry; anything else throws. */
function member(obj: unknown, key: string): unknown {
  if (typeof obj === "object" && obj !== null) {
    const c = obj.constructor;
    if (c === Object || c === undefined) {
      if (hasOwn(obj, key)) {
        const v = (obj as Record<string, unknown>)[key];
        if (v !== undefined) return v;
      }
    } else if (c === Map) {
      const v = (obj as Map<unknown, unknown>).get(key);
      if (v !== undefined) return v;
    }
  }
  return fail(`No such key: ${key}`);
}

function variable(ctx: Ctx, name: string): unknown {
  const v = ctx[name];
  if (v === undefined) fail(`Unknown variable: ${name}`);
  return v;
}

/** An int and a double compare by value, exactly (JavaScript's `==` between a bigint and a number), as in cel-js. */
const intEqualsDouble = (i: unknown, d: unknown): boolean => i == d;

/** CEL equality between two primitives (an int equals the double of the same value); other values throw. */
function equal(a: unknown, b: unknown): boolean {
  if (typeof a === "string") {
    if (typeof b === "string") return a === b;
  } else if (typeof a === "number") {
    if (typeof b === "number") return a === b;
    if (typeof b === "bigint") return intEqualsDouble(b, a);
  } else if (typeof a === "bigint") {
    if (typeof b === "bigint") return a === b;
    if (typeof b === "number") return intEqualsDouble(a, b);
  }
  if (isPrim(a) && isPrim(b)) return a === b;
  return fail("unsupported equality"); // lists, maps, timestamps: cel-js decides
}

/** Ordering of two numbers (int and double mix, compared exactly) or two strings; other values throw. */
function compare(op: string, a: unknown, b: unknown): boolean {
  const ta = typeof a;
  const tb = typeof b;
  if (!((ta === "number" || ta === "bigint") && (tb === "number" || tb === "bigint")) && !(ta === "string" && tb === "string")) fail(`no such overload: ${op}`);
  const x = a as number;
  const y = b as number;
  switch (op) {
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    default:
      return x >= y;
  }
}

function int64(v: bigint): bigint {
  return v <= MAX_INT && v >= MIN_INT ? v : fail(`integer overflow: ${v}`);
}

function arith(op: string, a: unknown, b: unknown): unknown {
  if (typeof a === "number" && typeof b === "number") return op === "+" ? a + b : op === "-" ? a - b : a * b;
  if (typeof a === "bigint" && typeof b === "bigint") return int64(op === "+" ? a + b : op === "-" ? a - b : a * b);
  if (op === "+" && typeof a === "string" && typeof b === "string") return a + b;
  return fail(`no such overload: ${op}`); // lists, durations, int + double (an error in CEL): cel-js decides
}

function toDouble(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string") {
    // cel-js's double(string)
    if (!v || v !== v.trim()) fail("double() type error: cannot convert to double");
    switch (v.toLowerCase()) {
      case "inf":
      case "+inf":
      case "infinity":
      case "+infinity":
        return Number.POSITIVE_INFINITY;
      case "-inf":
      case "-infinity":
        return Number.NEGATIVE_INFINITY;
      case "nan":
        return Number.NaN;
      default: {
        const parsed = Number(v);
        if (!Number.isNaN(parsed)) return parsed;
        return fail("double() type error: cannot convert to double");
      }
    }
  }
  return fail("unsupported double()");
}

function toInt(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return Number.isFinite(v) ? BigInt(Math.trunc(v)) : fail("int() type error: integer overflow");
  return fail("unsupported int()"); // strings, uints: cel-js decides
}

function sizeOf(v: unknown): bigint {
  if (Array.isArray(v)) return BigInt(v.length);
  if (typeof v === "string") {
    let n = 0;
    for (const _ of v) n++; // code points, as cel-js counts
    return BigInt(n);
  }
  return fail("unsupported size()"); // maps, sets, bytes: cel-js decides
}

const TIMESTAMP_GETTERS: Record<string, (d: Date) => number> = {
  getDayOfWeek: (d) => d.getUTCDay(),
  getHours: (d) => d.getUTCHours(),
  getMinutes: (d) => d.getUTCMinutes(),
  getSeconds: (d) => d.getUTCSeconds(),
  getMilliseconds: (d) => d.getUTCMilliseconds(),
  getDate: (d) => d.getUTCDate(),
  getDayOfMonth: (d) => d.getUTCDate() - 1,
  getMonth: (d) => d.getUTCMonth(),
  getFullYear: (d) => d.getUTCFullYear(),
};

// ------------------------------------------------------------------------------------------------
// constants and folding
// ------------------------------------------------------------------------------------------------

const CONSTANTS = new WeakMap<Fn, unknown>();
const EMPTY: Ctx = Object.freeze({}) as Ctx;

function constant(v: unknown): Fn {
  const f: Fn = () => v;
  CONSTANTS.set(f, v);
  return f;
}
const isConstant = (f: Fn): boolean => CONSTANTS.has(f);

/** `fn` when it depends on the context; its value when every part it reads is a constant (an error stays a run-time error). */
function fold(fn: Fn, parts: readonly Fn[]): Fn {
  if (!parts.every(isConstant)) return fn;
  try {
    return constant(fn(EMPTY));
  } catch {
    return fn;
  }
}

/** A closure that returns `f`'s value when it is a boolean and throws otherwise. */
function asBool(f: Fn): Fn {
  if (isConstant(f)) return typeof CONSTANTS.get(f) === "boolean" ? f : () => fail("Logical operator requires bool operands");
  return (ctx) => {
    const v = f(ctx);
    return typeof v === "boolean" ? v : fail("Logical operator requires bool operands");
  };
}

// ------------------------------------------------------------------------------------------------
// the compiler
// ------------------------------------------------------------------------------------------------

/** A macro (`has`, `exists`, …) or a name the checker resolved to a constant (`int`, `string`): cel-js evaluates something else in its place, so not ours. */
function opaque(n: Node): boolean {
  const meta = (n as { meta?: { alternate?: unknown; macro?: unknown } }).meta;
  return !!meta && (!!meta.alternate || !!meta.macro);
}

class Compiler {
  private readonly known: KnownValues | undefined;
  constructor(known: KnownValues | undefined) {
    this.known = known;
  }

  /** `id.k1.k2…` as one closure (no closure per step), with known prefixes folded. */
  path(name: string, keys: string[]): Fn {
    let from = 0;
    let base: Fn | null = null;
    if (this.known) {
      for (let i = keys.length; i >= 0; i--) {
        const p = [name, ...keys.slice(0, i)].join(".");
        if (hasOwn(this.known, p)) {
          base = constant(this.known[p]);
          from = i;
          break;
        }
      }
    }
    const rest = keys.slice(from);
    if (base) {
      let f = base;
      for (const k of rest) {
        const o = f;
        f = fold((ctx) => member(o(ctx), k), [o]);
      }
      return f;
    }
    switch (rest.length) {
      case 0:
        return (ctx) => variable(ctx, name);
      case 1: {
        const [a] = rest;
        return (ctx) => member(variable(ctx, name), a);
      }
      case 2: {
        const [a, b] = rest;
        return (ctx) => member(member(variable(ctx, name), a), b);
      }
      case 3: {
        const [a, b, c] = rest;
        return (ctx) => member(member(member(variable(ctx, name), a), b), c);
      }
      default:
        return (ctx) => {
          let v = variable(ctx, name);
          for (let i = 0; i < rest.length; i++) v = member(v, rest[i]);
          return v;
        };
    }
  }

  node(n: Node): Fn | null {
    if (opaque(n)) return null;
    const a = n.args;
    switch (n.op) {
      case "value":
        return isPrim(a) ? constant(a) : null; // bytes, uints: not ours
      case "id":
        return this.path(a as string, []);
      case ".": {
        const keys: string[] = [];
        let x: Node = n;
        while (x.op === ".") {
          const [objN, key] = x.args as [Node, string];
          if (typeof key !== "string" || opaque(x)) return null;
          keys.unshift(key);
          x = objN;
        }
        if (x.op === "id") return opaque(x) ? null : this.path(x.args as string, keys);
        let f = this.node(x);
        if (!f) return null;
        for (const k of keys) {
          const o: Fn = f;
          f = fold((ctx) => member(o(ctx), k), [o]);
        }
        return f;
      }
      case "&&":
      case "||":
        return this.logical(n.op === "||", a as [Node, Node]);
      case "!_": {
        const x = this.node(a as Node);
        if (!x) return null;
        return fold((ctx) => {
          const v = x(ctx);
          return typeof v === "boolean" ? !v : fail("no such overload: !_");
        }, [x]);
      }
      case "-_": {
        const x = this.node(a as Node);
        if (!x) return null;
        return fold((ctx) => {
          const v = x(ctx);
          if (typeof v === "number") return -v;
          if (typeof v === "bigint") return -v; // cel-js does not range-check negation
          return fail("no such overload: -_");
        }, [x]);
      }
      case "?:": {
        const [c, l, r] = (a as Node[]).map((x) => this.node(x));
        if (!c || !l || !r) return null;
        if (isConstant(c)) {
          const v = CONSTANTS.get(c);
          if (v === true) return l;
          if (v === false) return r;
        }
        return (ctx) => {
          const v = c(ctx);
          return v === true ? l(ctx) : v === false ? r(ctx) : fail("Ternary condition must be bool");
        };
      }
      case "==":
      case "!=":
        return this.equality(n.op === "!=", a as [Node, Node]);
      case "<":
      case "<=":
      case ">":
      case ">=":
        return this.ordering(n.op, a as [Node, Node]);
      case "+":
      case "-":
      case "*": {
        const [l, r] = (a as Node[]).map((x) => this.node(x));
        if (!l || !r) return null;
        const op = n.op;
        if (op === "+")
          return fold((ctx) => {
            const x = l(ctx);
            const y = r(ctx);
            return typeof x === "number" && typeof y === "number" ? x + y : arith(op, x, y);
          }, [l, r]);
        return fold((ctx) => arith(op, l(ctx), r(ctx)), [l, r]);
      }
      case "in":
        return this.membership(a as [Node, Node]);
      case "call": {
        const [name, argNodes] = a as [string, Node[]];
        if (argNodes.length !== 1) return null;
        const x = this.node(argNodes[0]);
        if (!x) return null;
        if (name === "double") return fold((ctx) => toDouble(x(ctx)), [x]);
        if (name === "int") return fold((ctx) => toInt(x(ctx)), [x]);
        if (name === "size") return fold((ctx) => sizeOf(x(ctx)), [x]);
        return null;
      }
      case "rcall":
        return this.method(a as [string, Node, Node[]]);
      default:
        return null;
    }
  }

  logical(isOr: boolean, [ln, rn]: [Node, Node]): Fn | null {
    const l = this.node(ln);
    const r = this.node(rn);
    // the deciding value on one side wins whatever the other side does (even an error or an uncompilable side)
    const decides = (f: Fn | null) => f !== null && isConstant(f) && CONSTANTS.get(f) === isOr;
    if (decides(l) || decides(r)) return constant(isOr);
    if (!l || !r) return null;
    // a constant that does not decide leaves the other side, which must be a bool
    if (isConstant(l) && CONSTANTS.get(l) === !isOr) return asBool(r);
    if (isConstant(r) && CONSTANTS.get(r) === !isOr) return asBool(l);
    // `||` is decided by a true side, `&&` by a false one, whichever side it is (an error on the other side is then ignored)
    const decisive = isOr;
    return (ctx) => {
      let le: unknown = null;
      let lv: unknown;
      try {
        lv = l(ctx);
      } catch (err) {
        le = err;
      }
      if (lv === decisive) return decisive;
      const rv = r(ctx);
      if (rv === decisive) return decisive;
      if (rv === !decisive && lv === !decisive) return !decisive;
      throw le ?? new CelRuntimeError("Logical operator requires bool operands");
    };
  }

  equality(neg: boolean, [ln, rn]: [Node, Node]): Fn | null {
    const l = this.node(ln);
    const r = this.node(rn);
    if (!l || !r) return null;
    // a string literal on either side (the common case: `call.args.x == 'y'`)
    for (const [x, c] of [
      [l, r],
      [r, l],
    ] as const) {
      if (isConstant(c) && !isConstant(x) && typeof CONSTANTS.get(c) === "string") {
        const s = CONSTANTS.get(c) as string;
        return (ctx) => {
          const v = x(ctx);
          return typeof v === "string" ? (v === s) !== neg : equal(v, s) !== neg;
        };
      }
    }
    return fold((ctx) => equal(l(ctx), r(ctx)) !== neg, [l, r]);
  }

  ordering(op: string, [ln, rn]: [Node, Node]): Fn | null {
    const l = this.node(ln);
    const r = this.node(rn);
    if (!l || !r) return null;
    // a number literal on the right (amounts, counts): one comparison of doubles when the value is a double
    if (isConstant(r) && !isConstant(l)) {
      const c = CONSTANTS.get(r);
      const n = typeof c === "number" ? c : typeof c === "bigint" && BigInt(Number(c)) === c ? Number(c) : null; // an int that a double holds exactly
      if (n !== null)
        switch (op) {
          case "<":
            return (ctx) => {
              const x = l(ctx);
              return typeof x === "number" ? x < n : compare(op, x, c);
            };
          case "<=":
            return (ctx) => {
              const x = l(ctx);
              return typeof x === "number" ? x <= n : compare(op, x, c);
            };
          case ">":
            return (ctx) => {
              const x = l(ctx);
              return typeof x === "number" ? x > n : compare(op, x, c);
            };
          default:
            return (ctx) => {
              const x = l(ctx);
              return typeof x === "number" ? x >= n : compare(op, x, c);
            };
        }
    }
    return fold((ctx) => compare(op, l(ctx), r(ctx)), [l, r]);
  }

  membership([elN, listN]: [Node, Node]): Fn | null {
    const el = this.node(elN);
    if (!el) return null;
    if (listN.op === "list") {
      const items = (listN.args as Node[]).map((x) => this.node(x));
      if (items.some((i) => !i)) return null;
      const fns = items as Fn[];
      if (fns.every(isConstant)) {
        const values = fns.map((f) => CONSTANTS.get(f));
        const strings = values.every((v) => typeof v === "string");
        return fold((ctx) => {
          const v = el(ctx);
          if (strings && typeof v === "string") return values.includes(v);
          if (!isPrim(v)) fail("unsupported in");
          for (let i = 0; i < values.length; i++) if (equal(v, values[i])) return true;
          return false;
        }, [el]);
      }
      return (ctx) => {
        const v = el(ctx);
        if (!isPrim(v)) fail("unsupported in");
        let found = false;
        for (let i = 0; i < fns.length; i++) {
          const x = fns[i](ctx);
          if (!isPrim(x)) fail("unsupported in"); // every element is evaluated, as cel-js builds the list first
          if (!found && equal(v, x)) found = true;
        }
        return found;
      };
    }
    const list = this.node(listN);
    if (!list) return null;
    return fold((ctx) => {
      const v = el(ctx);
      const xs = list(ctx);
      if (!isPrim(v) || !Array.isArray(xs)) fail("unsupported in"); // maps, sets: cel-js decides
      for (let i = 0; i < xs.length; i++) {
        const x: unknown = xs[i];
        if (!isPrim(x)) fail("unsupported in");
        if (equal(v, x)) return true;
      }
      return false;
    }, [el, list]);
  }

  method([name, targetN, argNodes]: [string, Node, Node[]]): Fn | null {
    const target = this.node(targetN);
    if (!target) return null;
    if (argNodes.length === 0) {
      if (name === "size") return fold((ctx) => sizeOf(target(ctx)), [target]);
      const get = hasOwn(TIMESTAMP_GETTERS, name) ? TIMESTAMP_GETTERS[name] : undefined;
      if (get)
        return fold((ctx) => {
          const d = target(ctx);
          if (typeof d !== "object" || d === null || d.constructor !== Date) fail(`no such overload: ${name}`);
          return BigInt(get(d as Date)); // an invalid date throws here, and cel-js decides
        }, [target]);
      return null;
    }
    if (argNodes.length !== 1) return null;
    const arg = this.node(argNodes[0]);
    if (!arg) return null;
    const strings = (f: (s: string, p: string) => boolean): Fn =>
      fold((ctx) => {
        const s = target(ctx);
        const p = arg(ctx);
        return typeof s === "string" && typeof p === "string" ? f(s, p) : fail(`no such overload: ${name}`);
      }, [target, arg]);
    switch (name) {
      case "startsWith":
        if (isConstant(arg) && typeof CONSTANTS.get(arg) === "string" && !isConstant(target)) {
          const p = CONSTANTS.get(arg) as string;
          return (ctx) => {
            const s = target(ctx);
            return typeof s === "string" ? s.startsWith(p) : fail(`no such overload: ${name}`);
          };
        }
        return strings((s, p) => s.startsWith(p));
      case "endsWith":
        return strings((s, p) => s.endsWith(p));
      case "contains":
        return strings((s, p) => s.includes(p));
      case "matches": {
        if (isConstant(arg) && typeof CONSTANTS.get(arg) === "string") {
          let re: RegExp;
          try {
            re = new RegExp(CONSTANTS.get(arg) as string); // cel-js: `new RegExp(pattern).test(s)`, no flags, so no state between calls
          } catch {
            return null; // an invalid pattern: cel-js reports it
          }
          return fold((ctx) => {
            const s = target(ctx);
            return typeof s === "string" ? re.test(s) : fail(`no such overload: ${name}`);
          }, [target]);
        }
        return strings((s, p) => new RegExp(p).test(s));
      }
      default:
        return null;
    }
  }
}

/** A root that reads a value straight from the context returns only CEL primitives; anything else is the interpreter's to judge. */
function primitiveRoot(f: Fn): Fn {
  return (ctx) => {
    const v = f(ctx);
    return isPrim(v) ? v : fail("not a primitive");
  };
}

/**
 * The compiled form of a type-checked cel-js AST (see compileCelProgram), or null. A compiled
 * expression that meets a case it does not handle at run time throws; callers then fall back to
 * the interpreter for that call. `known`: values that every context the closure is run against
 * has (see KnownValues); they are folded.
 */
export function compileCel(ast: unknown, known?: KnownValues): Fn | null {
  try {
    const root = ast as Node & { checkedType?: unknown };
    // only a checked AST: an expression cel-js rejects statically fails on every evaluation, whatever we could fold
    if (!root?.checkedType) return null;
    const f = new Compiler(known).node(root);
    if (!f) return null;
    if (!isConstant(f) && (root.op === "id" || root.op === "." || root.op === "?:")) return primitiveRoot(f);
    return f;
  } catch {
    return null;
  }
}

/** A program from cel-js's `parse` (its own, not the one the interpreter runs: checking annotates the AST), type-checked and compiled; null when cel-js rejects it or it is outside the subset. */
export function compileCelProgram(program: { ast: unknown; check(): { valid: boolean } }, known?: KnownValues): Fn | null {
  try {
    if (!program.check().valid) return null;
  } catch {
    return null;
  }
  return compileCel(program.ast, known);
}

/** The constant a compiled closure always returns, if it is one (`{ value }`), else null. */
export function constantOf(f: Fn): { value: unknown } | null {
  return CONSTANTS.has(f) ? { value: CONSTANTS.get(f) } : null;
}

export { CelRuntimeError };
