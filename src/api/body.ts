/** Reading request bodies at the edge: size-capped, parsed, zod-validated, precise errors. */
import type { Context } from "hono";
import type { z } from "zod";
import { formatPath } from "../engine/workflow-schema.ts";
import { problem } from "./problem.ts";

export const MAX_BODY_BYTES = 1024 * 1024;

export async function readText(c: Context): Promise<string | Response> {
  const len = Number(c.req.header("content-length") ?? "0");
  if (len > MAX_BODY_BYTES) return problem(c, 413, "Payload Too Large", `the body is ${len} bytes; the limit is ${MAX_BODY_BYTES}`);
  const text = new TextDecoder().decode(await c.req.arrayBuffer()); // any content type: YAML, JSON, text
  if (text.length > MAX_BODY_BYTES) return problem(c, 413, "Payload Too Large", `the body is over ${MAX_BODY_BYTES} bytes`);
  return text;
}

export async function readJson<T extends z.ZodType>(c: Context, schema: T, optional = false): Promise<z.output<T> | Response> {
  const text = await readText(c);
  if (text instanceof Response) return text;
  let raw: unknown = {};
  if (text.trim() || !optional) {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      return problem(c, 400, "Bad Request", `the body is not valid JSON: ${(err as Error).message}`);
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    return problem(c, 422, "Unprocessable Content", "the request body is invalid", parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
  }
  return parsed.data;
}
