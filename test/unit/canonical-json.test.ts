import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, jsonEqual } from "../../src/engine/canonical-json.ts";

/** The same value rebuilt: keys in another order, `undefined` properties added, array holes as `undefined`. */
function reshuffled(v: unknown, seed: number): unknown {
  if (Array.isArray(v)) return v.map((x, i) => (x === null && (seed + i) % 3 === 0 ? undefined : reshuffled(x, seed + i)));
  if (v === null || typeof v !== "object") return v;
  const keys = Object.keys(v);
  const order = seed % 2 ? keys.reverse() : keys;
  const out: Record<string, unknown> = {};
  if (seed % 3 === 0) out[`absent${seed}`] = undefined;
  // defineProperty: a "__proto__" key stays a key
  for (const k of order) Object.defineProperty(out, k, { value: reshuffled((v as Record<string, unknown>)[k], seed + k.length), enumerable: true, writable: true, configurable: true });
  return out;
}

/** The value with one leaf changed, one key renamed, or one element dropped, along a path chosen by `seed`. */
function nudged(v: unknown, seed: number): unknown {
  if (Array.isArray(v)) {
    if (!v.length || seed % 5 === 0) return [...v, 0];
    const i = seed % v.length;
    return v.map((x, j) => (j === i ? nudged(x, Math.floor(seed / 7) + 1) : x));
  }
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v);
    if (!keys.length || seed % 5 === 0) return { ...v, "\u0000nudge": 1 };
    const k = keys[seed % keys.length];
    const out = { ...v };
    Object.defineProperty(out, k, { value: nudged((v as Record<string, unknown>)[k], Math.floor(seed / 7) + 1), enumerable: true, writable: true, configurable: true });
    return out;
  }
  if (typeof v === "number") return v + 1 === v ? v / 2 : v + 1; // past 2^53, v + 1 is v
  if (typeof v === "string") return `${v}!`;
  if (typeof v === "boolean") return !v;
  return 0; // null
}

const sameAsCanonical = (a: unknown, b: unknown) => {
  expect(jsonEqual(a, b)).toBe(canonicalJson(a) === canonicalJson(b));
};

/** For arbitrary JSON values v: jsonEqual(v, change(v)) is `equal` both ways, and agrees with the strings. */
function assertAgainstItself(change: (v: unknown, seed: number) => unknown, equal: boolean) {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 5 }), fc.nat(), (v, seed) => {
      const w = change(v, seed);
      expect(jsonEqual(v, w)).toBe(equal);
      expect(jsonEqual(w, v)).toBe(equal);
      sameAsCanonical(v, w);
    }),
    { numRuns: 2000 },
  );
}

describe("jsonEqual (equality under canonical JSON, without the strings)", () => {
  it("agrees with comparing canonicalJson strings on arbitrary pairs", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 4 }), sameAsCanonical), { numRuns: 2000 });
  });

  it("a value equals itself rebuilt with other key order, undefined properties and undefined array elements", () => {
    assertAgainstItself(reshuffled, true);
  });

  it("a value differs from itself with one leaf, key or element changed", () => {
    assertAgainstItself(nudged, false);
  });

  it("the cases where JSON's own rules decide", () => {
    expect(jsonEqual(0, -0)).toBe(true);
    expect(jsonEqual(1, "1")).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual({}, [])).toBe(false);
    expect(jsonEqual([undefined], [null])).toBe(true);
    // a hole in a sparse array reads as null in both
    const holes: unknown[] = [, 1];
    expect(canonicalJson(holes)).toBe("[null,1]");
    expect(jsonEqual(holes, [null, 1])).toBe(true);
    expect(jsonEqual(new Array(1), [])).toBe(false);
    expect(canonicalJson(new Array(1))).toBe("[null]");
    expect(jsonEqual({ a: undefined }, {})).toBe(true);
    expect(jsonEqual({ a: null }, {})).toBe(false);
    expect(jsonEqual({ toString: 1 }, {})).toBe(false);
    expect(jsonEqual({}, { toString: 1 })).toBe(false);
    expect(jsonEqual(JSON.parse('{"__proto__": 1}'), {})).toBe(false);
    expect(jsonEqual(JSON.parse('{"__proto__": 1}'), JSON.parse('{"__proto__": 1}'))).toBe(true);
    expect(() => jsonEqual(NaN, 1)).toThrow(TypeError);
    expect(() => jsonEqual({ a: [Infinity] }, { a: [1] })).toThrow(TypeError);
  });
});
