import { env, runInDurableObject } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { endpointId } from "../../src/webhooks/endpoint-id.ts";
import { api, echoFlow, events, publish, settle, tokenFor } from "./helpers.ts";

type Problem = { type: string; status: number; detail: string; errors?: Array<{ path: string; message: string }> };
type Run = { id: string; status: string; output?: unknown };

async function createHook(token: string, workflow: string, expected = [200, 201]) {
  const res = await api(`/v1/workflows/${workflow}/webhook`, { method: "POST", token });
  expect(expected).toContain(res.status);
  expect(res.headers.get("cache-control")).toBe("no-store");
  return (await res.json()) as { url: string; secret: string; rotated: boolean; previousSecretsExpireAt: string[] };
}

/** A delivery signed by the standardwebhooks package, as a real sender would send it. */
async function deliver(url: string, secret: string | string[], id: string, payload: unknown, opts: { at?: number; headers?: Record<string, string> } = {}) {
  const at = opts.at ?? Date.now();
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const signature = (Array.isArray(secret) ? secret : [secret]).map((s) => new Webhook(s).sign(id, new Date(at), body)).join(" ");
  const headers = { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(Math.floor(at / 1000)), "webhook-signature": signature, ...opts.headers };
  return api(new URL(url).pathname, { method: "POST", body, headers });
}

async function runsOf(token: string, workflow: string) {
  const res = await api(`/v1/runs?workflow=${workflow}`, { token });
  return ((await res.json()) as { items: Run[] }).items;
}

async function expect401(res: Response, detail: RegExp) {
  expect(res.status).toBe(401);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const p = (await res.json()) as Problem;
  expect(p.type).toBe("urn:warden:problem:unauthorized");
  expect(p.detail).toMatch(detail);
}

const registryFor = (tenant: string) => env.TENANT_REGISTRY.get(env.TENANT_REGISTRY.idFromName(tenant));

describe("webhook endpoints", () => {
  it("a signed delivery starts a run that completes, without any bearer token", async () => {
    const t = await tokenFor("hook-basic");
    await publish(t, echoFlow("greet"));
    const create = await api("/v1/workflows/greet/webhook", { method: "POST", token: t });
    expect(create.status).toBe(201);
    const { url, secret } = (await create.json()) as { url: string; secret: string };
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(url).toBe(`http://warden.test/v1/hooks/${endpointId("hook-basic", "greet")}`);

    const res = await deliver(url, secret, "msg_basic_1", { name: "Ana" });
    expect(res.status).toBe(201);
    const run = (await res.json()) as Run;
    expect(run.id).toMatch(/^run_[a-z0-9]{26}$/);
    expect(run.status).toBe("running");
    expect(res.headers.get("location")).toBe(`/v1/runs/${run.id}`);
    const done = await settle(t, run.id);
    expect(done.status).toBe("completed");
    expect(done.output).toBe("hi Ana");
    const log = await events(t, run.id);
    expect(log[0].type).toBe("run.started");
    expect(log[0].data.actor).toEqual({ sub: "webhook:greet", roles: [] });
    expect(log[0].data.input).toEqual({ name: "Ana" });
    expect(JSON.stringify(log)).not.toContain(secret.slice("whsec_".length));
  });

  it("a redelivered webhook-id answers the run it already started; another body under that id is 409", async () => {
    const t = await tokenFor("hook-redeliver");
    await publish(t, echoFlow("greet"));
    const { url, secret } = await createHook(t, "greet");
    const first = await deliver(url, secret, "msg_again", { name: "Bo" });
    expect(first.status).toBe(201);
    const run = (await first.json()) as Run;
    // a real redelivery: same id and body, new timestamp and signature
    const again = await deliver(url, secret, "msg_again", { name: "Bo" }, { at: Date.now() + 2000 });
    expect(again.status).toBe(200);
    expect(((await again.json()) as Run).id).toBe(run.id);
    // key order and whitespace do not make it another request
    const reformatted = await deliver(url, secret, "msg_again", '{ "name": "Bo" }');
    expect(reformatted.status).toBe(200);
    expect(((await reformatted.json()) as Run).id).toBe(run.id);

    const other = await deliver(url, secret, "msg_again", { name: "Eve" });
    expect(other.status).toBe(409);
    expect(((await other.json()) as Problem).detail).toMatch(/msg_again.*different body/);

    await settle(t, run.id);
    const runs = await runsOf(t, "greet");
    expect(runs.map((r) => r.id)).toEqual([run.id]);
    expect((await events(t, run.id)).filter((e) => e.type === "run.started")).toHaveLength(1);

    // a different webhook-id is a new run
    const next = await deliver(url, secret, "msg_again_2", { name: "Bo" });
    expect(next.status).toBe(201);
    expect(((await next.json()) as Run).id).not.toBe(run.id);
  });

  it("refuses bad signatures and broken headers with 401 and starts nothing", async () => {
    const t = await tokenFor("hook-bad");
    await publish(t, echoFlow("greet"));
    const { url, secret } = await createHook(t, "greet");
    const payload = { name: "Mallory" };

    await expect401(await deliver(url, `whsec_${btoa("x".repeat(32))}`, "msg_forged", payload), /no signature in webhook-signature matches/);
    const body = JSON.stringify(payload);
    const at = Date.now();
    const good = new Webhook(secret).sign("msg_tamper", new Date(at), body);
    const tampered = await api(new URL(url).pathname, {
      method: "POST",
      body: JSON.stringify({ name: "Mallory", n: 1 }),
      headers: { "webhook-id": "msg_tamper", "webhook-timestamp": String(Math.floor(at / 1000)), "webhook-signature": good },
    });
    await expect401(tampered, /no signature/);
    await expect401(await deliver(url, secret, "msg_h", payload, { headers: { "webhook-signature": "v1,AAAA" } }), /no signature/);
    await expect401(await deliver(url, secret, "msg_h", payload, { headers: { "webhook-signature": "sig" } }), /no "v1,<base64>" signature/);
    await expect401(await deliver(url, secret, "msg_h", payload, { headers: { "webhook-timestamp": "soon" } }), /webhook-timestamp header must be integer seconds/);
    const noId = await api(new URL(url).pathname, { method: "POST", body, headers: { "webhook-timestamp": String(Math.floor(at / 1000)), "webhook-signature": good } });
    await expect401(noId, /the webhook-id header is missing/);
    // a bearer token is no substitute for the signature
    await expect401(await api(new URL(url).pathname, { method: "POST", body, token: t }), /webhook-id header is missing/);

    expect(await runsOf(t, "greet")).toEqual([]);
  });

  it("refuses stale and future timestamps (5 minutes' tolerance)", async () => {
    const t = await tokenFor("hook-time");
    await publish(t, echoFlow("greet"));
    const { url, secret } = await createHook(t, "greet");
    await expect401(await deliver(url, secret, "msg_old", { name: "A" }, { at: Date.now() - 6 * 60_000 }), /s old; at most 300 s/);
    await expect401(await deliver(url, secret, "msg_new", { name: "A" }, { at: Date.now() + 6 * 60_000 }), /in the future/);
    expect((await deliver(url, secret, "msg_skew", { name: "A" }, { at: Date.now() - 4 * 60_000 })).status).toBe(201);
    expect(await runsOf(t, "greet")).toHaveLength(1);
  });

  it("says when no webhook is configured, and 404s endpoint ids it did not issue", async () => {
    const t = await tokenFor("hook-none");
    await publish(t, echoFlow("greet"));
    const url = `http://warden.test/v1/hooks/${endpointId("hook-none", "greet")}`;
    await expect401(await deliver(url, `whsec_${btoa("k".repeat(32))}`, "msg_1", { name: "A" }), /no webhook is configured for workflow greet/);
    const bogus = await deliver("http://warden.test/v1/hooks/greet", `whsec_${btoa("k".repeat(32))}`, "msg_1", { name: "A" });
    expect(bogus.status).toBe(404);
    expect(bogus.headers.get("content-type")).toBe("application/problem+json");
    expect((await api(new URL(url).pathname)).status).toBe(404); // GET is no route, not a 401 from bearer auth
    expect((await api(`/v1/workflows/greet/webhook`, { token: t })).status).toBe(404);
  });

  it("validates the body against the workflow's input schema (422) and starts nothing", async () => {
    const t = await tokenFor("hook-input");
    await publish(t, echoFlow("greet"));
    const { url, secret } = await createHook(t, "greet");
    const missing = await deliver(url, secret, "msg_in_1", { n: 3 });
    expect(missing.status).toBe(422);
    const p = (await missing.json()) as Problem;
    expect(p.detail).toMatch(/input schema of greet@1/);
    expect(p.errors?.length).toBeGreaterThan(0);
    const wrongType = await deliver(url, secret, "msg_in_2", { name: "A", n: -1 });
    expect(wrongType.status).toBe(422);
    expect(((await wrongType.json()) as Problem).errors?.map((e) => e.path)).toContain("input.n");
    const array = await deliver(url, secret, "msg_in_3", [1, 2]);
    expect(array.status).toBe(422);
    expect(((await array.json()) as Problem).errors?.[0].message).toMatch(/JSON object/);
    expect((await deliver(url, secret, "msg_in_4", "{not json")).status).toBe(400);
    expect(await runsOf(t, "greet")).toEqual([]);
    // the same webhook-id may be delivered again once the sender fixes the payload
    expect((await deliver(url, secret, "msg_in_1", { name: "fixed" })).status).toBe(201);
  });
});

describe("webhook secrets", () => {
  it("rotation: the old secret works for its grace period, then only the new one", async () => {
    const t = await tokenFor("hook-rotate");
    await publish(t, echoFlow("greet"));
    const first = await createHook(t, "greet", [201]);
    expect(first.rotated).toBe(false);
    const before = Date.now();
    const second = await createHook(t, "greet", [200]);
    expect(second.rotated).toBe(true);
    expect(second.url).toBe(first.url);
    expect(second.secret).not.toBe(first.secret);
    expect(second.previousSecretsExpireAt).toHaveLength(1);
    const expiry = Date.parse(second.previousSecretsExpireAt[0]);
    expect(expiry - before).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(expiry - Date.now()).toBeLessThanOrEqual(24 * 3_600_000);

    expect((await deliver(first.url, first.secret, "msg_old_secret", { name: "A" })).status).toBe(201);
    expect((await deliver(first.url, second.secret, "msg_new_secret", { name: "B" })).status).toBe(201);
    expect((await deliver(first.url, [first.secret, second.secret], "msg_both", { name: "C" })).status).toBe(201);

    // the grace period passes: backdate the previous secret's expiry in the registry
    await runInDurableObject(registryFor("hook-rotate"), async (_instance, state) => {
      state.storage.sql.exec(`UPDATE webhook_secrets SET expires_at = ? WHERE workflow_id = ? AND expires_at IS NOT NULL`, Date.now() - 1, "greet");
    });
    await expect401(await deliver(first.url, first.secret, "msg_old_secret_2", { name: "D" }), /no signature/);
    expect((await deliver(first.url, second.secret, "msg_new_secret_2", { name: "E" })).status).toBe(201);
    expect((await deliver(first.url, [first.secret, second.secret], "msg_both_2", { name: "F" })).status).toBe(201);
    const info = (await (await api("/v1/workflows/greet/webhook", { token: t })).json()) as { previousSecretsExpireAt: string[] };
    expect(info.previousSecretsExpireAt).toEqual([]);
    expect(await runsOf(t, "greet")).toHaveLength(5);
  });

  it("only the tenant's admin can create or rotate it", async () => {
    const a = await tokenFor("hook-owner");
    const b = await tokenFor("hook-intruder");
    await publish(a, echoFlow("greet"));
    const { url, secret } = await createHook(a, "greet", [201]);

    const intruder = await api("/v1/workflows/greet/webhook", { method: "POST", token: b });
    expect(intruder.status).toBe(404);
    expect(JSON.stringify(await intruder.json())).not.toContain("whsec_");
    expect((await api("/v1/workflows/greet/webhook", { token: b })).status).toBe(404);
    const operator = await api("/v1/workflows/greet/webhook", { method: "POST", token: await tokenFor("hook-owner", ["operator"]) });
    expect(operator.status).toBe(403);
    expect((await api("/v1/workflows/greet/webhook", { method: "POST" })).status).toBe(401);
    expect((await api("/v1/workflows/missing/webhook", { method: "POST", token: a })).status).toBe(404);

    // nothing was rotated: the original secret is the only one
    const info = (await (await api("/v1/workflows/greet/webhook", { token: a })).json()) as { previousSecretsExpireAt: string[] };
    expect(info.previousSecretsExpireAt).toEqual([]);
    expect((await deliver(url, secret, "msg_owner", { name: "A" })).status).toBe(201);
    // tenant B publishing the same workflow id gets its own endpoint, which A's secret does not open
    await publish(b, echoFlow("greet"));
    const theirs = await createHook(b, "greet", [201]);
    expect(theirs.url).not.toBe(url);
    await expect401(await deliver(theirs.url, secret, "msg_cross", { name: "A" }), /no signature/);
  });

  it("is never returned by a GET", async () => {
    const t = await tokenFor("hook-secret");
    await publish(t, echoFlow("greet"));
    const { url, secret } = await createHook(t, "greet");
    const res = await deliver(url, secret, "msg_s", { name: "A" });
    const run = (await res.json()) as Run;
    await settle(t, run.id);
    const key = secret.slice("whsec_".length);
    const info = await api("/v1/workflows/greet/webhook", { token: t });
    expect(info.status).toBe(200);
    const infoBody = (await info.json()) as Record<string, unknown>;
    expect(infoBody).toMatchObject({ url, workflowId: "greet", createdBy: "user-hook-secret", previousSecretsExpireAt: [] });
    expect(infoBody).not.toHaveProperty("secret");
    for (const path of ["/v1/workflows/greet/webhook", "/v1/workflows", "/v1/workflows/greet", "/v1/runs", `/v1/runs/${run.id}`, `/v1/runs/${run.id}/events`]) {
      const text = new TextDecoder().decode(await (await api(path, { token: t })).arrayBuffer());
      expect(text, path).not.toContain(key);
      expect(text, path).not.toContain("whsec_");
    }
  });
});
