/** An HTTP tool call: URL and headers templated, args as the JSON body, an Idempotency-Key always. */
import { CallFailure } from "../engine/call-failure.ts";
import { renderUrl } from "../engine/template.ts";
import type { ToolDefinition } from "../engine/workflow-schema.ts";
import { outboundFetch, readCapped, type HostMap } from "./outbound.ts";
import { renderWithSecrets, type SecretSource } from "./secrets.ts";

type HttpTool = Extract<ToolDefinition, { kind: "http" }>;


export interface ToolCallContext {
  name: string;
  args: unknown;
  idempotencyKey: string;
  scope: Record<string, unknown>;
  env: SecretSource;
  hosts: HostMap;
  signal?: AbortSignal;
}

export async function callHttpTool(def: HttpTool, ctx: ToolCallContext): Promise<{ status: number; body: unknown }> {
  const scope = { ...ctx.scope, args: ctx.args };
  const url = renderUrl(def.url, scope);
  const headers: Record<string, string> = { "idempotency-key": ctx.idempotencyKey, accept: "application/json" };
  for (const [k, v] of Object.entries(def.headers)) headers[k.toLowerCase()] = renderWithSecrets(v, scope, ctx.env);
  const init: RequestInit = { method: def.method, headers };
  if (def.method !== "GET" && def.method !== "DELETE") {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(ctx.args ?? {});
  }
  const what = `tool "${ctx.name}"`;
  const res = await outboundFetch(url, init, ctx.hosts, what, def.timeoutMs, ctx.signal);
  const text = await readCapped(res, what);
  if (!res.ok) throw CallFailure.fromResponse(what, res, text);
  let body: unknown = text;
  if ((res.headers.get("content-type") ?? "").includes("json")) {
    try {
      body = JSON.parse(text);
    } catch {
      throw new CallFailure(`${what} sent malformed JSON`, { status: res.status, retryable: false });
    }
  }
  return { status: res.status, body };
}
