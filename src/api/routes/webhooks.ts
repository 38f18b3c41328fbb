/**
 * Signed webhook triggers (Standard Webhooks).
 *
 * - `POST /v1/workflows/:id/webhook` (admin) creates or rotates the workflow's endpoint secret and
 *   answers `{ url, secret }` once; `GET` the same path shows the endpoint without its secret.
 * - `POST /v1/hooks/:endpoint` takes a delivery. It has no bearer token: the signature is the
 *   authentication, and the opaque endpoint id names the tenant and workflow. A delivery's run id
 *   is derived from (tenant, workflow, webhook-id), so a redelivery answers the run it started.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { canonicalJson, sha256Hex } from "../../engine/canonical-json.ts";
import { formatPath } from "../../engine/workflow-schema.ts";
import { endpointId, parseEndpointId } from "../../webhooks/endpoint-id.ts";
import { checkTimestamp, generateSecret, parseHeaders, signatureMatches } from "../../webhooks/signature.ts";
import { requireRole, type AppEnv } from "../auth-middleware.ts";
import { MAX_BODY_BYTES, readJson } from "../body.ts";
import { problem, problemResponse } from "../problem.ts";
import { runIdForKey } from "../run-ids.ts";
import { startRun } from "../start-run.ts";
import { registryStub, runStub } from "../stubs.ts";

const workflowIdParam = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/);
const hookUrl = (c: Context, tenant: string, workflowId: string) => `${new URL(c.req.url).origin}/v1/hooks/${endpointId(tenant, workflowId)}`;

/** Mounted under /v1/workflows, behind bearer auth. */
export const webhookAdminRoutes = new Hono<AppEnv>();

webhookAdminRoutes.post("/:id/webhook", requireRole("admin"), async (c) => {
  const id = workflowIdParam.safeParse(c.req.param("id"));
  if (!id.success) return problem(c, 404, "Not Found", `no workflow ${c.req.param("id")}`);
  const body = await readJson(c, z.strictObject({}), true);
  if (body instanceof Response) return body;
  const p = c.get("principal");
  const secret = generateSecret();
  const res = await registryStub(c.env, p.tenant).rotateWebhookSecret(id.data, secret, p.sub);
  if (!res.ok) return problemResponse(res.problem, c.req.path);
  return c.json(
    { url: hookUrl(c, p.tenant, id.data), secret, rotated: res.value.rotated, previousSecretsExpireAt: res.value.info.previousSecretsExpireAt },
    res.value.rotated ? 200 : 201,
    { "cache-control": "no-store" },
  );
});

webhookAdminRoutes.get("/:id/webhook", async (c) => {
  const id = workflowIdParam.safeParse(c.req.param("id"));
  const tenant = c.get("principal").tenant;
  const info = id.success ? await registryStub(c.env, tenant).webhookInfo(id.data) : null;
  if (!info) return problem(c, 404, "Not Found", `no webhook is configured for workflow ${c.req.param("id")}`);
  return c.json({ url: hookUrl(c, tenant, info.workflowId), ...info });
});

/** Mounted under /v1/hooks, outside bearer auth. */
export const hookRoutes = new Hono<AppEnv>();

const unauthorized = (c: Context, detail: string) => problem(c, 401, "Unauthorized", detail);
const inputBody = z.record(z.string(), z.unknown(), { error: "the body must be a JSON object (it becomes the run input)" });

hookRoutes.post("/:endpoint", async (c) => {
  const ep = parseEndpointId(c.req.param("endpoint"));
  if (!ep) return problem(c, 404, "Not Found", "no such webhook endpoint");

  // Cheap checks first: a request without fresh, well-formed headers never reaches the registry.
  const headers = parseHeaders((name) => c.req.header(name));
  if (!headers.ok) return unauthorized(c, headers.detail);
  const fresh = checkTimestamp(headers.value.timestamp, Date.now());
  if (!fresh.ok) return unauthorized(c, fresh.detail);

  if (Number(c.req.header("content-length") ?? "0") > MAX_BODY_BYTES) return problem(c, 413, "Payload Too Large", `the body is over ${MAX_BODY_BYTES} bytes`);
  const raw = new Uint8Array(await c.req.arrayBuffer()); // the signature covers these exact bytes
  if (raw.length > MAX_BODY_BYTES) return problem(c, 413, "Payload Too Large", `the body is over ${MAX_BODY_BYTES} bytes`);

  const registry = registryStub(c.env, ep.tenant);
  const endpoint = await registry.webhookEndpoint(ep.workflowId, headers.value.id);
  if (!endpoint) return unauthorized(c, `no webhook is configured for workflow ${ep.workflowId}`);
  if (!(await signatureMatches(endpoint.secrets, headers.value, raw))) return unauthorized(c, "no signature in webhook-signature matches this endpoint's secret");

  // Authenticated from here on.
  let text: string;
  let json: unknown = {};
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(raw);
  } catch {
    return problem(c, 400, "Bad Request", "the body is not valid UTF-8");
  }
  if (text.trim()) {
    try {
      json = JSON.parse(text);
    } catch (err) {
      return problem(c, 400, "Bad Request", `the body is not valid JSON: ${(err as Error).message}`);
    }
  }
  const input = inputBody.safeParse(json);
  if (!input.success) return problem(c, 422, "Unprocessable Content", "the request body is invalid", input.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));

  const webhookId = headers.value.id;
  const requestHash = await sha256Hex(canonicalJson({ webhook: ep.workflowId, id: webhookId, input: input.data }));
  const conflict = () => problem(c, 409, "Webhook id reused", `webhook-id ${webhookId} was already delivered with a different body; a redelivery must carry the same body`);
  if (endpoint.delivery) {
    if (endpoint.delivery.requestHash !== requestHash) return conflict();
    const run = await runStub(c.env, endpoint.delivery.runId).summary(ep.tenant);
    if (run.ok) return c.json(run.value, 200, { location: `/v1/runs/${endpoint.delivery.runId}` });
  }

  const runId = await runIdForKey(ep.tenant, `webhook:${ep.workflowId}:${webhookId}`);
  const res = await startRun(c.env, { tenant: ep.tenant, workflow: ep.workflowId, input: input.data, runId, actor: { sub: `webhook:${ep.workflowId}`, roles: [] }, requestHash });
  if (!res.ok) return res.problem.status === 409 ? conflict() : problemResponse(res.problem, c.req.path);
  await registry.recordWebhookDelivery(ep.workflowId, webhookId, { runId, requestHash });
  return c.json(res.value.run, res.value.created ? 201 : 200, { location: `/v1/runs/${runId}` });
});
