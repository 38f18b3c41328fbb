/** RFC 9457 problem details: every error the API returns. */
import type { Context } from "hono";
import type { Problem } from "../engine/rpc-result.ts";

const SLUGS: Record<number, string> = { 400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 409: "conflict", 413: "too-large", 415: "unsupported-media-type", 422: "invalid", 500: "internal" };

export function problemResponse(p: Problem, instance?: string, headers: Record<string, string> = {}): Response {
  const body = { type: `urn:warden:problem:${SLUGS[p.status] ?? "error"}`, title: p.title, status: p.status, detail: p.detail, ...(p.errors ? { errors: p.errors } : {}), ...(instance ? { instance } : {}) };
  return new Response(JSON.stringify(body), { status: p.status, headers: { "content-type": "application/problem+json", ...headers } });
}

export function problem(c: Context, status: number, title: string, detail: string, errors?: Problem["errors"], headers?: Record<string, string>): Response {
  return problemResponse({ status, title, detail, ...(errors ? { errors } : {}) }, new URL(c.req.url).pathname, headers);
}
