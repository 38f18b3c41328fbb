import { parse } from "@marcbachmann/cel-js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileCel } from "../../src/engine/cel-compiler.ts";

/** Runs cel-js's interpreter and our closures on the same expression and context: same value, or both fail. */
function both(src: string, ctx: Record<string, unknown>): { ref: { ok: boolean; v?: unknown }; ours: { ok: boolean; v?: unknown } | null } {
  const program = parse(src);
  let ref: { ok: boolean; v?: unknown };
  try {
    ref = { ok: true, v: program(ctx) };
  } catch {
    ref = { ok: false };
  }
  const fast = compileCel((program as unknown as { ast: unknown }).ast);
  if (!fast) return { ref, ours: null };
  let ours: { ok: boolean; v?: unknown };
  try {
    ours = { ok: true, v: fast(ctx) };
  } catch {
    ours = { ok: false };
  }
  return { ref, ours };
}

const leaf = fc.constantFrom("call.tool", "call.args.amount", "input.region", "input.amount", "counts.toolCalls", "input.missing", "input.flag", "input.tags");
const lit = fc.constantFrom("'payments.create'", "'EU'", "10000", "10000.0", "3", "0", "true", "null", "'x'");
const cmp = fc.tuple(leaf, fc.constantFrom("==", "!=", "<", "<=", ">", ">="), lit).map(([l, op, r]) => `${l} ${op} ${r}`);
const call = fc.constantFrom("double(call.args.amount) > 10000.0", "call.tool.startsWith('pay')", "input.region.endsWith('U')", "now.getDayOfWeek() in [0, 6]", "now.getHours() >= 18", "size(input.tags) > 1", "input.region in ['EU', 'UK']", "!input.flag");
const atom = fc.oneof(cmp, call);
const expr: fc.Arbitrary<string> = fc.letrec((tie) => ({
  e: fc.oneof({ depthSize: "small", withCrossShrink: true }, atom, fc.tuple(tie("e"), fc.constantFrom("&&", "||"), tie("e")).map(([a, op, b]) => `(${a} ${op} ${b})`), tie("e").map((a) => `!(${a})`)),
})).e as fc.Arbitrary<string>;
const ctxArb = fc.record({
  call: fc.record({ tool: fc.constantFrom("payments.create", "claims.lookup"), args: fc.record({ amount: fc.oneof(fc.integer({ min: 0, max: 30000 }), fc.constant("12000")) }) }),
  input: fc.record({ region: fc.constantFrom("EU", "US", "UK"), amount: fc.oneof(fc.integer({ min: 0, max: 20000 }), fc.double({ min: 0, max: 20000, noNaN: true })), flag: fc.oneof(fc.boolean(), fc.constant(1)), tags: fc.array(fc.string(), { maxLength: 3 }) }),
  counts: fc.record({ toolCalls: fc.integer({ min: 0, max: 10 }) }),
  now: fc.date({ min: new Date("2026-01-01"), max: new Date("2027-01-01"), noInvalidDate: true }),
});

describe("CEL closure compiler", () => {
  it("property: agrees with cel-js wherever it compiles (same value, or both fail)", () => {
    let compiled = 0;
    fc.assert(
      fc.property(expr, ctxArb, (src, ctx) => {
        let r;
        try {
          r = both(src, ctx);
        } catch {
          return; // cel-js rejects the expression at parse/type-check time: not ours to run
        }
        if (!r.ours) return;
        compiled++;
        // where we fail, the runtime falls back to the interpreter, so only successes must agree
        if (r.ours.ok) {
          expect(r.ref.ok).toBe(true);
          expect(r.ours.v).toEqual(r.ref.v);
        }
      }),
      { numRuns: 3000 },
    );
    expect(compiled).toBeGreaterThan(1000);
  });

  it("compiles the policy styles of the spec, and leaves the rest to the interpreter", () => {
    expect(compileCel((parse("call.tool == 'payments.create' && double(call.args.amount) > 10000.0") as unknown as { ast: unknown }).ast)).not.toBeNull();
    expect(compileCel((parse("now.getDayOfWeek() in [0, 6]") as unknown as { ast: unknown }).ast)).not.toBeNull();
    expect(compileCel((parse("input.tags.exists(t, t == 'x')") as unknown as { ast: unknown }).ast)).toBeNull();
  });
});
