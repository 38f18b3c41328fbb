/** Run input is validated against the workflow's JSON Schema (no eval: @cfworker/json-schema). */
import { Validator } from "@cfworker/json-schema";

export function validateInput(schema: Record<string, unknown> | undefined, input: unknown): Array<{ path: string; message: string }> {
  if (!schema) return [];
  const result = new Validator(schema as never, "2020-12", false).validate(input);
  if (result.valid) return [];
  return result.errors
    .filter((e) => e.keyword !== "properties" && e.keyword !== "allOf")
    .map((e) => ({ path: `input${e.instanceLocation.replace(/^#/, "").replace(/\//g, ".")}`, message: e.error }));
}
