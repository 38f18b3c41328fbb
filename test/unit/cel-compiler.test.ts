import { parse } from "@marcbachmann/cel-js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileCel, compileCelProgram, constantOf, type KnownValues } from "../../src/engine/cel-compiler.ts";
import { compileExpression, compileExpressionParts, specialize } from "../../src/engine/expression.ts";

type Outcome = { ok: true; v: unknown } | { ok: false; message: string };
const run = (f: (ctx: Record<string, unknown>) => unknown, ctx: Record<string, unknown>): Outcome => {
  try {
    return { ok: true, v: f(ctx) };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
};
/** The closures compiled from a type-checked program of their own (as expression.ts does), or null. */
const compiled = (src: string, known?: KnownValues) => compileCelProgram(parse(src), known);

/**
 * Runs cel-js's interpreter and our closures on the same expression and context. Our closures may
 * throw (the caller then asks the interpreter); when they return, the value must be cel-js's.
 */
function agree(src: string, ctx: Record<string, unknown>, known?: KnownValues): "uncompiled" | "fell back" | "same" {
  let program: ReturnType<typeof parse>;
  try {
    program = parse(src);
  } catch {
    return "uncompiled"; // not CEL
  }
  const ref = run(program, ctx);
  const fast = compiled(src, known);
  if (!fast) return "uncompiled";
  const c = constantOf(fast);
  if (c) {
    // folded at compile time: cel-js must give that value on every context with the known values
    expect(ref).toEqual({ ok: true, v: c.value });
    return "same";
  }
  const ours = run(fast, ctx);
  if (!ours.ok) return "fell back";
  expect(ref).toEqual(ours);
  return "same";
}

// -------------------------------------------------------------------------------------------------
// expressions: every construct the compiler handles, over fields of every type (so that most
// combinations are ill-typed at run time and exercise the errors), plus literals of every type
// -------------------------------------------------------------------------------------------------

const field = fc.constantFrom(
  "call.tool",
  "call.kind",
  "call.args.amount",
  "call.args.currency",
  "call.args.cc",
  "input.region",
  "input.amount",
  "input.big",
  "input.n",
  "input.flag",
  "input.tags",
  "input.obj",
  "input.nul",
  "input.pattern",
  "input.missing",
  "input.obj.k",
  "counts.toolCalls",
  "tenant",
  "now",
  "nope",
  "m.k",
);
const literal = fc.constantFrom(
  "'payments.create'",
  "'EU'",
  "''",
  "'x'",
  "'1.5'",
  "' 2'",
  "'inf'",
  "'-Infinity'",
  "'NaN'",
  "'0x10'",
  "'héllo😀'",
  "10000",
  "10000.0",
  "3",
  "0",
  "-1",
  "0.0",
  "-0.0",
  "1.5",
  "9007199254740993",
  "9223372036854775807",
  "true",
  "false",
  "null",
  "['EU', 'UK']",
  "[0, 6]",
  "[1.5, 2.0]",
  "[]",
  "{'a': 1}",
  "1u",
  "b'ab'",
);
const stringOps = fc.constantFrom("startsWith", "endsWith", "contains", "matches");
const patterns = fc.constantFrom("'^pay'", "'[Ww]ire transfer'", "'password|secret'", "'^(DROP|TRUNCATE|ALTER) '", "'('", "'.*'", "''");
const getters = fc.constantFrom("getDayOfWeek", "getHours", "getMinutes", "getSeconds", "getMilliseconds", "getDate", "getDayOfMonth", "getMonth", "getFullYear", "getDayOfYear");

const expr: fc.Arbitrary<string> = fc.letrec((tie) => {
  const e = () => tie("e") as fc.Arbitrary<string>;
  return {
    e: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      field,
      literal,
      fc.tuple(e(), fc.constantFrom("==", "!=", "<", "<=", ">", ">="), e()).map(([a, op, b]) => `(${a} ${op} ${b})`),
      fc.tuple(field, fc.constantFrom("==", "!=", "<", "<=", ">", ">="), literal).map(([a, op, b]) => `${a} ${op} ${b}`),
      fc.tuple(e(), fc.constantFrom("&&", "||"), e()).map(([a, op, b]) => `(${a} ${op} ${b})`),
      fc.tuple(e(), fc.constantFrom("+", "-", "*"), e()).map(([a, op, b]) => `(${a} ${op} ${b})`),
      e().map((a) => `!(${a})`),
      e().map((a) => `-(${a})`),
      fc.tuple(e(), e(), e()).map(([c, a, b]) => `(${c} ? ${a} : ${b})`),
      fc.tuple(e(), fc.oneof(literal, field, fc.tuple(e(), e()).map(([a, b]) => `[${a}, ${b}]`))).map(([a, l]) => `(${a} in ${l})`),
      fc.tuple(e(), stringOps, fc.oneof(e(), patterns)).map(([s, m, p]) => `${s}.${m}(${p})`),
      fc.tuple(field, patterns).map(([s, p]) => `${s}.matches(${p})`),
      fc.tuple(fc.constantFrom("double", "int", "size", "string", "has"), e()).map(([f, a]) => `${f}(${a})`),
      e().map((a) => `${a}.size()`),
      getters.map((g) => `now.${g}()`),
      fc.tuple(e(), getters).map(([a, g]) => `${a}.${g}()`),
    ),
  };
}).e;

/** Mostly well-typed expressions (numbers with numbers, strings with strings), so that the compiled paths answer often, true and false. */
const typed: fc.Arbitrary<string> = fc.letrec((tie) => {
  const num = () => tie("num") as fc.Arbitrary<string>;
  const str = () => tie("str") as fc.Arbitrary<string>;
  const bool = () => tie("bool") as fc.Arbitrary<string>;
  return {
    num: fc.oneof(
      { depthSize: "small" },
      fc.constantFrom("call.args.amount", "input.amount", "counts.toolCalls", "input.big", "input.n", "10000.0", "1.5", "0.0", "-0.0", "10000", "3", "9007199254740993", "9223372036854775807"),
      fc.tuple(num(), fc.constantFrom("+", "-", "*"), num()).map(([a, op, b]) => `(${a} ${op} ${b})`),
      fc.tuple(fc.constantFrom("double", "int"), fc.oneof(num(), str())).map(([f, a]) => `${f}(${a})`),
      str().map((a) => `size(${a})`),
      fc.constantFrom("size(input.tags)", "input.tags.size()", "size(call.args.cc)"),
      getters.map((g) => `now.${g}()`),
      num().map((a) => `-${a}`),
      fc.tuple(bool(), num(), num()).map(([c, a, b]) => `(${c} ? ${a} : ${b})`),
    ),
    str: fc.oneof(
      { depthSize: "small" },
      fc.constantFrom("call.tool", "call.kind", "call.args.currency", "input.region", "tenant", "input.pattern", "'EU'", "'pay'", "''", "'1.5'", "' 2'", "'héllo😀'", "'-inf'"),
      fc.tuple(str(), str()).map(([a, b]) => `(${a} + ${b})`),
      fc.tuple(bool(), str(), str()).map(([c, a, b]) => `(${c} ? ${a} : ${b})`),
    ),
    bool: fc.oneof(
      { depthSize: "small" },
      fc.constantFrom("input.flag", "true", "false"),
      fc.tuple(num(), fc.constantFrom("==", "!=", "<", "<=", ">", ">="), num()).map(([a, op, b]) => `(${a} ${op} ${b})`),
      fc.tuple(str(), fc.constantFrom("==", "!=", "<", "<=", ">", ">="), str()).map(([a, op, b]) => `(${a} ${op} ${b})`),
      fc.tuple(bool(), fc.constantFrom("&&", "||"), bool()).map(([a, op, b]) => `(${a} ${op} ${b})`),
      bool().map((a) => `!${a}`),
      fc.tuple(str(), stringOps, str()).map(([s, m, p]) => `${s}.${m}(${p})`),
      fc.tuple(str(), patterns).map(([s, p]) => `${s}.matches(${p})`),
      fc.tuple(str(), fc.constantFrom("['EU', 'UK']", "['EUR', 'USD', 'GBP']", "input.tags", "[]")).map(([a, l]) => `${a} in ${l}`),
      fc.tuple(num(), fc.constantFrom("[0, 6]", "[1.5, 2.0]", "input.tags")).map(([a, l]) => `${a} in ${l}`),
      fc.tuple(num(), num(), num()).map(([a, b, c]) => `${a} in [${b}, ${c}]`),
      fc.tuple(bool(), bool(), bool()).map(([c, a, b]) => `(${c} ? ${a} : ${b})`),
    ),
  };
}).bool;

const ctxArb = fc.record({
  call: fc.record({
    kind: fc.constantFrom("tool", "llm"),
    tool: fc.constantFrom("payments.create", "claims.lookup", ""),
    args: fc.record({ amount: fc.oneof(fc.integer({ min: 0, max: 30000 }), fc.constant("12000"), fc.constant(10000), fc.double({ noNaN: false })), currency: fc.constantFrom("EUR", "JPY", "1.5", " 2", "inf", "NaN", ""), cc: fc.array(fc.constantFrom("a@x", "b@y"), { maxLength: 3 }) }, { requiredKeys: ["amount"] }),
  }),
  input: fc.record(
    {
      region: fc.constantFrom("EU", "US", "UK", "héllo😀", "DROP TABLE x", "Wire transfer"),
      amount: fc.oneof(fc.integer({ min: -5, max: 20000 }), fc.double({ min: -1, max: 20000, noNaN: true }), fc.constantFrom(-0, 0, Number.NaN, Infinity)),
      big: fc.constantFrom(9007199254740992, 9007199254740994, 2 ** 63, -(2 ** 63)),
      n: fc.oneof(fc.bigInt({ min: -10n, max: 10n }), fc.constantFrom(9223372036854775807n, -9223372036854775808n, 9007199254740993n, 6n)),
      flag: fc.oneof(fc.boolean(), fc.constant(1)),
      tags: fc.array(fc.oneof(fc.constantFrom("EU", "x", ""), fc.integer({ min: 0, max: 6 }), fc.constant(null)), { maxLength: 3 }),
      obj: fc.oneof(fc.record({ k: fc.constantFrom("v", "EU") }), fc.constant(new Map([["k", "v"]])), fc.constant(Object.assign(Object.create(null) as object, { k: 1 })), fc.constant({ k: undefined })),
      nul: fc.constant(null),
      pattern: fc.constantFrom("^pay", "(", "x"),
    },
    { requiredKeys: ["region", "amount", "n", "flag", "tags", "obj", "nul"] },
  ),
  counts: fc.record({ toolCalls: fc.integer({ min: 0, max: 10 }) }),
  tenant: fc.constantFrom("acme", "globex"),
  now: fc.oneof(fc.date({ min: new Date("2026-01-01"), max: new Date("2027-01-01"), noInvalidDate: true }), fc.constant(new Date(Number.NaN))),
  m: fc.constant(new Map<string, unknown>([["k", "v"]])),
});

describe("CEL closure compiler", () => {
  it("property: wherever it compiles and returns, it returns cel-js's value", () => {
    const tally = { uncompiled: 0, "fell back": 0, same: 0 };
    const answers = new Map<unknown, number>();
    fc.assert(
      fc.property(fc.oneof(expr, typed), ctxArb, (src, ctx) => {
        const r = agree(src, ctx);
        tally[r]++;
        if (r === "same") {
          const v = run(compiled(src)!, ctx);
          if (v.ok) answers.set(v.v, (answers.get(v.v) ?? 0) + 1);
        }
      }),
      { numRuns: 30_000 },
    );
    // half the expressions are ill-typed on purpose; enough must still compile and answer, both ways
    expect(tally.same).toBeGreaterThan(7000);
    expect(answers.get(true)).toBeGreaterThan(1500);
    expect(answers.get(false)).toBeGreaterThan(2000);
  });

  it("property: with known values (call.kind, call.tool) folded, it still returns cel-js's value on any context holding them", () => {
    let folded = 0;
    fc.assert(
      fc.property(fc.oneof(expr, typed), ctxArb, (src, ctx) => {
        const known = { "call.kind": ctx.call.kind, "call.tool": ctx.call.tool };
        agree(src, ctx, known);
        const f = compiled(src, known);
        if (f && constantOf(f)) folded++;
      }),
      { numRuns: 20_000 },
    );
    expect(folded).toBeGreaterThan(500);
  });

  it("property: compileExpression gives cel-js's value or cel-js's error", () => {
    fc.assert(
      fc.property(fc.oneof(expr, typed), ctxArb, (src, ctx) => {
        let program: ReturnType<typeof parse>;
        try {
          program = parse(src);
        } catch {
          return;
        }
        expect(run(compileExpression(src), ctx)).toEqual(run(program, ctx));
      }),
      { numRuns: 5000 },
    );
  });

  it("the policy rule styles compile, and fold to constants where the tool decides them", () => {
    const rules = [
      "call.tool == 'payments.create' && double(call.args.amount) > 10000.0",
      "call.tool == 'payments.create' && now.getDayOfWeek() in [0, 6]",
      "call.tool.startsWith('payments.') && (now.getHours() < 6 || now.getHours() >= 22)",
      "call.tool == 'data.export' && input.region in ['EU']",
      "call.tool == 'payments.create' && !(call.args.currency in ['EUR', 'USD', 'GBP'])",
      "call.tool == 'sql.query' && call.args.query.matches('^(DROP|TRUNCATE|ALTER) ')",
      "call.tool == 'crm.update' && size(call.args.records) > 50",
      "call.tool == 'email.send' && !call.args.to.endsWith('@acme.example')",
      "counts.toolCalls > 40",
      "cost.usd > 20.0",
      "counts.inputTokens + counts.outputTokens > 2000000",
      "node == 'pay' && !call.tool.startsWith('payments.')",
      "tenant == 'acme' && call.tool == 'data.export'",
    ];
    for (const r of rules) expect(compiled(r), r).not.toBeNull();
    const other = { "call.kind": "tool", "call.tool": "claims.lookup" };
    expect(constantOf(compiled(rules[0], other)!)).toEqual({ value: false });
    expect(constantOf(compiled(rules[2], other)!)).toEqual({ value: false });
    expect(constantOf(compiled(rules[12], other)!)).toEqual({ value: false });
    // `e && false` is false even where `e` fails: cel-js's commutative logic
    expect(constantOf(compiled("call.args.missing > 1 && call.tool == 'x'", other)!)).toEqual({ value: false });
    expect(parse("call.args.missing > 1 && call.tool == 'x'")({ call: { tool: "claims.lookup", args: {} } })).toBe(false);
    // what `call.tool` decides folds away, the rest stays
    const pay = compiled(rules[0], { "call.kind": "tool", "call.tool": "payments.create" })!;
    expect(constantOf(pay)).toBeNull();
    expect(pay({ call: { args: { amount: 20000 } } })).toBe(true);
  });

  it("leaves the rest to the interpreter: macros, indexing, maps, statically ill-typed expressions, bad patterns", () => {
    for (const src of ["input.tags.exists(t, t == 'x')", "has(input.x)", "input.tags[0] == 'x'", "{'a': 1}.a == 1", "false && 1", "1 < true", "input.x.matches('(')", "string(1) == '1'", "int == int", "1u == 1u"]) expect(compiled(src), src).toBeNull();
    // a tree from parse() that has not been type-checked is not compiled either
    expect(compileCel(parse("1 == 1").ast)).toBeNull();
  });

  it("field access follows cel-js: own fields of maps, undefined fields missing, no prototype fields", () => {
    const f = compiled("x.y == 'v'")!;
    expect(f({ x: { y: "v" } })).toBe(true);
    expect(() => f({ x: {} })).toThrow();
    expect(() => f({ x: { y: undefined } })).toThrow();
    expect(() => f({ x: Object.create({ y: "v" }) as object })).toThrow();
    expect(() => compiled("x.toString == 'v'")!({ x: {} })).toThrow();
    expect(f({ x: new Map([["y", "v"]]) })).toBe(true);
    expect(() => f({ x: [] })).toThrow();
  });

  it("specialize: an expression's closures with known values, from the shared parts", () => {
    const p = compileExpressionParts("call.tool == 'a' && call.args.n > 1");
    expect(constantOf(specialize(p, { "call.tool": "b" })!)).toEqual({ value: false });
    expect(specialize(p, { "call.tool": "a" })!({ call: { args: { n: 2 } } })).toBe(true);
    expect(specialize(compileExpressionParts("1 < true"), { "call.tool": "a" })).toBeNull(); // cel-js rejects it statically
  });
});
