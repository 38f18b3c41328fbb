import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, contentHash } from "../../src/engine/canonical-json.ts";
import { parseDuration } from "../../src/engine/duration.ts";
import { render, renderString } from "../../src/engine/template.ts";
import { parseWorkflow } from "../../src/engine/workflow-schema.ts";
import { routeUrl } from "../../src/tools/outbound.ts";

describe("canonical JSON", () => {
  it("sorts keys and ignores insertion order", async () => {
    expect(canonicalJson({ b: 1, a: [true, null, "x"], c: { z: 1, y: 2 } })).toBe('{"a":[true,null,"x"],"b":1,"c":{"y":2,"z":1}}');
    expect(await contentHash({ a: 1, b: 2 })).toBe(await contentHash({ b: 2, a: 1 }));
  });
  it("rejects values JSON cannot hold", () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/NaN/);
  });
  it("property: equal for any permutation of keys, and round-trips through JSON.parse", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        expect(canonicalJson(JSON.parse(canonicalJson(obj)))).toBe(canonicalJson(obj));
      }),
    );
  });
});

describe("durations", () => {
  it("parses units and compounds", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("4h")).toBe(14_400_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("3d")).toBe(259_200_000);
    expect(() => parseDuration("soon")).toThrow(/not a duration/);
  });
});

describe("templates", () => {
  const scope = { input: { amount: 12.5, claimant: { name: "Ana" }, tags: ["a", "b"] }, nodes: { x: { output: { ok: true } } } };
  it("keeps the type of a whole placeholder and stringifies embedded ones", () => {
    expect(renderString("{{input.amount}}", scope)).toBe(12.5);
    expect(renderString("Pay {{ input.amount }} to {{input.claimant.name}}", scope)).toBe("Pay 12.5 to Ana");
    expect(renderString("{{input.tags[1]}}", scope)).toBe("b");
    expect(renderString("{{nodes.x.output}}", scope)).toEqual({ ok: true });
    expect(renderString("{{input.missing}}", scope)).toBeNull();
    expect(render({ a: ["{{input.amount}}", { b: "{{input.claimant.name}}" }] }, scope)).toEqual({ a: [12.5, { b: "Ana" }] });
  });
  it("property: a whole placeholder returns the value unchanged", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(renderString("{{input.v}}", { input: { v } })).toEqual(v ?? null);
      }),
    );
  });
});

describe("workflow validation", () => {
  const base = {
    id: "wf",
    version: 1,
    start: "a",
    nodes: { a: { kind: "tool", tool: "t", next: "done" }, done: { kind: "end" } },
    tools: { t: { kind: "builtin", builtin: "echo" } },
  };
  it("accepts a valid document, in JSON or YAML", () => {
    expect(parseWorkflow(base).ok).toBe(true);
    expect(parseWorkflow("id: wf\nversion: 1\nstart: a\nnodes:\n  a: { kind: end }\n").ok).toBe(true);
  });
  it("names the path and reason of every error", () => {
    const r = parseWorkflow({ ...base, version: 0, nodes: { a: { kind: "tool", tool: "nope", next: "ghost" }, done: { kind: "end" } } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toContain("version");
    const g = parseWorkflow({ ...base, nodes: { a: { kind: "tool", tool: "nope", next: "ghost" }, done: { kind: "end" } } });
    expect(g.ok).toBe(false);
    if (!g.ok) {
      expect(g.errors).toContainEqual({ path: "nodes.a.next", message: 'names node "ghost", which does not exist' });
      expect(g.errors).toContainEqual({ path: "nodes.a.tool", message: 'names tool "nope", which is not defined under tools' });
    }
  });
  it("rejects a cycle without an exit", () => {
    const r = parseWorkflow({ ...base, start: "a", nodes: { a: { kind: "wait", for: "1s", next: "b" }, b: { kind: "wait", for: "1s", next: "a" }, done: { kind: "end" } } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0].message).toMatch(/cycle without an exit/);
  });
  it("accepts a loop that has an exit", () => {
    const r = parseWorkflow({ ...base, nodes: { a: { kind: "branch", cases: [{ when: "true", next: "b" }], default: "done" }, b: { kind: "wait", for: "1s", next: "a" }, done: { kind: "end" } } });
    expect(r.ok).toBe(true);
  });
  it("rejects reserved node kinds, unknown keys, bad YAML and bad CEL precisely", () => {
    const reserved = parseWorkflow({ ...base, nodes: { a: { kind: "a2a" }, done: { kind: "end" } } });
    expect(!reserved.ok && reserved.errors[0]).toMatchObject({ path: "nodes.a.kind", message: expect.stringMatching(/reserved/) });
    const extra = parseWorkflow({ ...base, surprise: 1 });
    expect(!extra.ok && extra.errors[0].message).toMatch(/surprise/);
    const yaml = parseWorkflow("id: [unclosed");
    expect(!yaml.ok && yaml.errors[0].message).toMatch(/not valid YAML/);
    const cel = parseWorkflow({ ...base, nodes: { a: { kind: "branch", cases: [{ when: "input.x >", next: "done" }], default: "done" }, done: { kind: "end" } } });
    expect(!cel.ok && cel.errors[0].path).toBe("nodes.a.cases[0].when");
  });
});

describe("outbound host map", () => {
  it("routes mapped hosts and keeps path and query", () => {
    expect(routeUrl("https://claims.example/api/claims/1?x=2", { "claims.example": "http://127.0.0.1:8790" })).toBe("http://127.0.0.1:8790/api/claims/1?x=2");
    expect(routeUrl("https://other.example/a", { "claims.example": "http://127.0.0.1:8790" })).toBe("https://other.example/a");
  });
});
