/** Run input is validated against the workflow's JSON Schema (no eval: @cfworker/json-schema). */
import { Validator } from "@cfworker/json-schema";
import { canonicalJson } from "./canonical-json.ts";

/** Compiled validators by schema text: a workflow's schema is compiled once per isolate. */
const validators = new Map<string, Validator>();

function validatorFor(schema: Record<string, unknown>): Validator {
  const key = canonicalJson(schema);
  let v = validators.get(key);
  if (!v) {
    v = new Validator(schema as never, "2020-12", false);
    if (validators.size > 500) validators.clear();
    validators.set(key, v);
  }
  return v;
}

export function validateInput(schema: Record<string, unknown> | undefined, input: unknown): Array<{ path: string; message: string }> {
  if (!schema) return [];
  const result = validatorFor(schema).validate(input);
  if (result.valid) return [];
  return result.errors
    .filter((e) => e.keyword !== "properties" && e.keyword !== "allOf")
    .map((e) => ({ path: `input${e.instanceLocation.replace(/^#/, "").replace(/\//g, ".")}`, message: e.error }));
}
