import { env } from "cloudflare:test";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { api, echoFlow, events, getRun, publish, recordedCalls, settle, slowFlow, startRun, tokenFor } from "./helpers.ts";

const waitFlow = (id: string) => ({
  id,
  version: 1,
  start: "nap",
  nodes: { nap: { kind: "wait", for: "1h", next: "done" }, done: { kind: "end", output: "woke" } },
});

describe("authentication and tenancy", () => {
  it("rejects missing, forged, expired and wrong-audience tokens with problem+json", async () => {
    const none = await api("/v1/runs");
    expect(none.status).toBe(401);
    expect(none.headers.get("content-type")).toBe("application/problem+json");
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    const secret = new TextEncoder().encode(env.WARDEN_JWT_SECRET);
    const forged = await new SignJWT({ tenant: "acme", roles: ["admin"] }).setProtectedHeader({ alg: "HS256" }).setSubject("x").setIssuer("warden").setAudience("warden-api").setExpirationTime("1h").sign(new TextEncoder().encode("another-secret-another-secret-another"));
    expect((await api("/v1/runs", { token: forged })).status).toBe(401);
    const expired = await new SignJWT({ tenant: "acme", roles: ["admin"] }).setProtectedHeader({ alg: "HS256" }).setSubject("x").setIssuer("warden").setAudience("warden-api").setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(secret);
    const exp = await api("/v1/runs", { token: expired });
    expect(exp.status).toBe(401);
    expect(((await exp.json()) as { detail: string }).detail).toMatch(/exp/);
    const aud = await new SignJWT({ tenant: "acme", roles: ["admin"] }).setProtectedHeader({ alg: "HS256" }).setSubject("x").setIssuer("warden").setAudience("elsewhere").setExpirationTime("1h").sign(secret);
    expect((await api("/v1/runs", { token: aud })).status).toBe(401);
    const noTenant = await new SignJWT({ roles: ["admin"] }).setProtectedHeader({ alg: "HS256" }).setSubject("x").setIssuer("warden").setAudience("warden-api").setExpirationTime("1h").sign(secret);
    expect((await api("/v1/runs", { token: noTenant })).status).toBe(401);
  });

  it("enforces roles", async () => {
    const auditor = await tokenFor("roles", ["auditor"]);
    const res = await api("/v1/workflows", { method: "POST", token: auditor, json: echoFlow("x") });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/admin/);
    const admin = await tokenFor("roles", ["admin"]);
    await publish(admin, echoFlow("x"));
    const run = await startRun(admin, "x", { name: "a" });
    expect((await api(`/v1/runs/${run.id}/halt`, { method: "POST", token: auditor })).status).toBe(403);
    expect((await api(`/v1/runs/${run.id}`, { token: auditor })).status).toBe(200);
  });

  it("never shows one tenant's workflows or runs to another", async () => {
    const a = await tokenFor("tenant-a");
    const b = await tokenFor("tenant-b");
    await publish(a, echoFlow("private"));
    const run = await startRun(a, "private", { name: "secret" });
    await settle(a, run.id);
    expect((await api("/v1/workflows/private", { token: b })).status).toBe(404);
    expect((await api("/v1/runs", { method: "POST", token: b, json: { workflow: "private", input: { name: "x" } } })).status).toBe(404);
    expect((await api(`/v1/runs/${run.id}`, { token: b })).status).toBe(404);
    expect((await api(`/v1/runs/${run.id}/events`, { token: b })).status).toBe(404);
    expect((await api(`/v1/runs/${run.id}/halt`, { method: "POST", token: b })).status).toBe(404);
    const list = (await (await api("/v1/runs", { token: b })).json()) as { items: unknown[] };
    expect(list.items).toEqual([]);
    const wfs = (await (await api("/v1/workflows", { token: b })).json()) as { items: unknown[] };
    expect(wfs.items).toEqual([]);
  });
});

describe("workflows and runs", () => {
  it("publishing is content-addressed and versioned", async () => {
    const t = await tokenFor("versions");
    const first = await api("/v1/workflows", { method: "POST", token: t, json: echoFlow("v") });
    expect(first.status).toBe(201);
    const again = await api("/v1/workflows", { method: "POST", token: t, json: echoFlow("v") });
    expect(again.status).toBe(200);
    const [a, b] = [(await first.json()) as { hash: string }, (await again.json()) as { hash: string }];
    expect(b).toEqual(a);
    expect(a.hash).toMatch(/^sha256:/);
    const changed = await api("/v1/workflows", { method: "POST", token: t, json: echoFlow("v", { description: "changed" }) });
    expect(changed.status).toBe(409);
    const yaml = "id: v\nversion: 2\nstart: done\nnodes:\n  done: { kind: end, output: two }\n";
    const v2 = await api("/v1/workflows", { method: "POST", token: t, body: yaml, headers: { "content-type": "application/yaml" } });
    expect(v2.status).toBe(201);
    const run = await startRun(t, "v", {});
    expect((await settle(t, run.id)).output).toBe("two");
    const pinned = await startRun(t, "v@1", { name: "one" });
    const done = await settle(t, pinned.id);
    expect(done.output).toBe("hi one");
    expect((done.workflow as { version: number }).version).toBe(1);
  });

  it("validates run input against the workflow's schema and stores nothing on error", async () => {
    const t = await tokenFor("inputs");
    await publish(t, echoFlow("in"));
    const bad = await api("/v1/runs", { method: "POST", token: t, json: { workflow: "in", input: { n: -1 } } });
    expect(bad.status).toBe(422);
    const body = (await bad.json()) as { errors: Array<{ path: string; message: string }> };
    expect(body.errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(body.errors)).toMatch(/name/);
    const malformed = await api("/v1/runs", { method: "POST", token: t, body: "{not json", headers: { "content-type": "application/json" } });
    expect(malformed.status).toBe(400);
    const wrongShape = await api("/v1/runs", { method: "POST", token: t, json: { workflow: "IN VALID", input: [] } });
    expect(wrongShape.status).toBe(422);
    const list = (await (await api("/v1/runs", { token: t })).json()) as { items: unknown[] };
    expect(list.items).toEqual([]);
  });

  it("an Idempotency-Key returns the same run, and refuses reuse for another request", async () => {
    const t = await tokenFor("idem");
    await publish(t, echoFlow("idem"));
    const one = await api("/v1/runs", { method: "POST", token: t, json: { workflow: "idem", input: { name: "a" } }, headers: { "idempotency-key": "order-42" } });
    expect(one.status).toBe(201);
    const two = await api("/v1/runs", { method: "POST", token: t, json: { workflow: "idem", input: { name: "a" } }, headers: { "idempotency-key": "order-42" } });
    expect(two.status).toBe(200);
    const [r1, r2] = [(await one.json()) as { id: string }, (await two.json()) as { id: string }];
    expect(r2.id).toBe(r1.id);
    const other = await api("/v1/runs", { method: "POST", token: t, json: { workflow: "idem", input: { name: "b" } }, headers: { "idempotency-key": "order-42" } });
    expect(other.status).toBe(409);
    await settle(t, r1.id);
    expect((await events(t, r1.id)).filter((e) => e.type === "run.started")).toHaveLength(1);
  });

  it("lists runs filtered by workflow and status, paginated with a cursor", async () => {
    const t = await tokenFor("listing");
    await publish(t, echoFlow("a"));
    await publish(t, waitFlow("b"));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await startRun(t, "a", { name: `n${i}` })).id);
    const waiting = await startRun(t, "b", {});
    for (const id of ids) await settle(t, id);
    await settle(t, waiting.id, ["waiting"]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await api(`/v1/runs?workflow=a&limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: t })).json()) as { items: Array<{ id: string; status: string }>; next: string | null };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((r) => r.id));
      cursor = page.next;
    } while (cursor);
    expect(seen.sort()).toEqual([...ids].sort());
    const w = (await (await api("/v1/runs?status=waiting", { token: t })).json()) as { items: Array<{ id: string; status: string }> };
    expect(w.items.map((r) => r.id)).toEqual([waiting.id]);
    expect((await api("/v1/runs?status=bogus", { token: t })).status).toBe(400);
    expect((await api("/v1/runs?cursor=garbage", { token: t })).status).toBe(400);
  });

  it("pause, resume and halt are recorded with the actor; halt is final", async () => {
    const t = await tokenFor("control", ["operator", "admin"], "olga");
    await publish(t, waitFlow("w"));
    const run = await startRun(t, "w", {});
    const waiting = await settle(t, run.id, ["waiting"]);
    expect(waiting.waiting).toMatchObject({ reason: "timer" });
    expect((await (await api(`/v1/runs/${run.id}/pause`, { method: "POST", token: t, json: { reason: "investigating" } })).json()) as { status: string }).toMatchObject({ status: "paused" });
    expect((await api(`/v1/runs/${run.id}/pause`, { method: "POST", token: t })).status).toBe(409);
    expect(((await (await api(`/v1/runs/${run.id}/resume`, { method: "POST", token: t })).json()) as { status: string }).status).toBe("waiting");
    const halted = await api(`/v1/runs/${run.id}/halt`, { method: "POST", token: t, json: { reason: "stop button" } });
    expect(((await halted.json()) as { status: string }).status).toBe("halted");
    expect((await api(`/v1/runs/${run.id}/resume`, { method: "POST", token: t })).status).toBe(409);
    const log = await events(t, run.id);
    const control = log.filter((e) => ["run.paused", "run.resumed", "run.halted"].includes(e.type));
    expect(control.map((e) => e.type)).toEqual(["run.paused", "run.resumed", "run.halted"]);
    expect(control.every((e) => (e.data.actor as { sub: string }).sub === "olga")).toBe(true);
    expect((await getRun(t, run.id)).status).toBe("halted");
  });

  it("halt abandons an in-flight call and nothing further executes", async () => {
    const t = await tokenFor("halting");
    await publish(t, slowFlow("slow", 1500));
    const run = await startRun(t, "slow", {});
    for (let i = 0; i < 100 && (await recordedCalls(run.id)).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const res = await api(`/v1/runs/${run.id}/halt`, { method: "POST", token: t });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1800));
    const final = await getRun(t, run.id);
    expect(final.status).toBe("halted");
    expect((await recordedCalls(run.id)).map((c) => c.path)).toEqual(["/tools/slow"]);
    const log = await events(t, run.id);
    expect(log.some((e) => e.type === "tool.failed" && /abandoned/.test(JSON.stringify(e.data)))).toBe(true);
  });

  it("GET /v1/runs/:id?wait=S answers when the run settles, or after S seconds, in one request", async () => {
    const t = await tokenFor("long-poll");
    await publish(t, slowFlow("quick", 400));
    await publish(t, slowFlow("slower", 1500));

    // settles within the wait: one request answers with the finished run
    const quick = await startRun(t, "quick", {});
    expect(quick.status).toBe("running");
    let started = Date.now();
    const done = await api(`/v1/runs/${quick.id}?wait=10`, { token: t });
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ id: quick.id, status: "completed", output: true });
    expect(Date.now() - started).toBeLessThan(9_000);

    // does not settle within the wait: answers "running" after the wait, and the run goes on
    const slower = await startRun(t, "slower", {});
    started = Date.now();
    const early = await api(`/v1/runs/${slower.id}?wait=0.2`, { token: t });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(((await early.json()) as { status: string }).status).toBe("running");
    // another tenant is answered 404 at once, without waiting
    started = Date.now();
    const stranger = await api(`/v1/runs/${slower.id}?wait=30`, { token: await tokenFor("long-poll-other") });
    expect(stranger.status).toBe(404);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(((await (await api(`/v1/runs/${slower.id}?wait=10`, { token: t })).json()) as { status: string }).status).toBe("completed");

    // a run that has already settled answers at once
    started = Date.now();
    expect(((await (await api(`/v1/runs/${quick.id}?wait=60`, { token: t })).json()) as { status: string }).status).toBe("completed");
    expect(Date.now() - started).toBeLessThan(5_000);

    for (const bad of ["61", "-1", "abc", "", "0x3c", "1e1", "%205"]) {
      const res = await api(`/v1/runs/${quick.id}?wait=${bad}`, { token: t });
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(((await res.json()) as { detail: string }).detail).toBe("invalid query: wait is a number of seconds from 0 to 60");
    }
  });

  it("records a missing secret and a transient failure precisely", async () => {
    const t = await tokenFor("failures");
    const svc = env.FAKE_SERVICES_URL;
    await publish(t, {
      id: "f",
      version: 1,
      start: "flaky",
      nodes: { flaky: { kind: "tool", tool: "flaky", next: "secret" }, secret: { kind: "tool", tool: "needs-secret", next: "done" }, done: { kind: "end" } },
      tools: { flaky: { kind: "http", method: "POST", url: `${svc}/tools/flaky` }, "needs-secret": { kind: "http", method: "GET", url: `${svc}/tools/x`, headers: { authorization: "Bearer {{secrets.NOT_CONFIGURED}}" } } },
    });
    const run = await startRun(t, "f", {});
    const done = await settle(t, run.id, ["failed", "completed"], 400);
    expect(done.status).toBe("failed");
    expect((done.error as { message: string }).message).toMatch(/secret NOT_CONFIGURED is not set/);
    expect(done.outputs).toMatchObject({ flaky: { ok: true, attempts: 3 } });
    const flakyCalls = (await recordedCalls(run.id)).filter((c) => c.path === "/tools/flaky");
    expect(flakyCalls).toHaveLength(3);
    expect(new Set(flakyCalls.map((c) => c.idempotencyKey)).size).toBe(1);
  });

  it("keeps large outputs intact by chunking, and rejects oversized ones clearly", async () => {
    const t = await tokenFor("large");
    const svc = env.FAKE_SERVICES_URL;
    await publish(t, {
      id: "big",
      version: 1,
      start: "big",
      nodes: { big: { kind: "tool", tool: "big", next: "huge" }, huge: { kind: "tool", tool: "huge", next: "done", onError: "toolarge" }, done: { kind: "end" }, toolarge: { kind: "end", output: "{{nodes.huge.output.error}}" } },
      tools: { big: { kind: "http", method: "GET", url: `${svc}/tools/big?bytes=3000000` }, huge: { kind: "http", method: "GET", url: `${svc}/tools/big?bytes=6000000` } },
    });
    const run = await startRun(t, "big", {});
    const done = await settle(t, run.id);
    expect(done.status).toBe("completed");
    expect(String(done.output)).toMatch(/limit is 4194304/);
    expect(((done.outputs as { big: { blob: string } }).big.blob).length).toBe(3_000_000);
    const log = await events(t, run.id);
    const big = log.find((e) => e.type === "tool.completed" && e.data.node === "big");
    expect(((big!.data.result as { body: { blob: string } }).body.blob).length).toBe(3_000_000);
  });

  it("answers unknown routes and runs with problem+json", async () => {
    const t = await tokenFor("misc");
    const r = await api("/v1/runs/run_doesnotexist00000000000000", { token: t });
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toBe("application/problem+json");
    expect((await api("/v1/nothing", { token: t })).status).toBe(404);
  });
});
