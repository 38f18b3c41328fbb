import { env, runDurableObjectAlarm } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { runStub } from "../../src/api/stubs.ts";
import { mintToken, type Role } from "../../src/auth/tokens.ts";

export async function tokenFor(tenant: string, roles: Role[] = ["admin"], sub = `user-${tenant}`) {
  return mintToken({ sub, tenant, roles }, env.WARDEN_JWT_SECRET);
}

export async function api(path: string, init: RequestInit & { token?: string; json?: unknown } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return (exports as unknown as { default: Fetcher }).default.fetch(`http://warden.test${path}`, { ...init, headers, body });
}

export async function publish(token: string, doc: unknown) {
  const res = await api("/v1/workflows", { method: "POST", token, json: doc });
  if (res.status >= 300) throw new Error(`publish failed ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string; version: number; hash: string };
}

export async function startRun(token: string, workflow: string, input: unknown, headers: Record<string, string> = {}) {
  const res = await api("/v1/runs", { method: "POST", token, json: { workflow, input }, headers });
  if (res.status >= 300) throw new Error(`start failed ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string; status: string };
}

export const runStubFor = (runId: string) => env.AGENT_RUN.get(env.AGENT_RUN.idFromName(runId));
export const runRpc = (runId: string) => runStub(env, runId);

export async function getRun(token: string, id: string) {
  const res = await api(`/v1/runs/${id}`, { token });
  return (await res.json()) as Record<string, unknown> & { status: string };
}

/** Drives a run to a settled status, firing its alarm directly instead of waiting for it. */
export async function settle(token: string, id: string, until: string[] = ["completed", "failed", "halted", "needs_attention", "paused"], maxRounds = 200) {
  for (let i = 0; i < maxRounds; i++) {
    const run = await getRun(token, id);
    if (until.includes(run.status)) return run;
    try {
      await runDurableObjectAlarm(runStubFor(id));
    } catch {
      /* an injected crash: the next round fires the retry */
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`run ${id} did not settle: ${JSON.stringify(await getRun(token, id))}`);
}

export async function events(token: string, id: string) {
  const res = await api(`/v1/runs/${id}/events`, { token });
  const text = new TextDecoder().decode(await res.arrayBuffer());
  return text.trim().split("\n").map((l) => JSON.parse(l) as { seq: number; type: string; at: number; data: Record<string, unknown> });
}

export async function recordedCalls(prefix: string) {
  const res = await fetch(`${env.FAKE_SERVICES_URL}/__calls?prefix=${encodeURIComponent(prefix)}`);
  return (await res.json()) as Array<{ kind: string; path: string; idempotencyKey: string; authorization: string | null; apiKey: string | null; body: unknown }>;
}

/** A one-step workflow (builtin echo) whose input needs a name; used wherever a test just needs a run. */
export const echoFlow = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  version: 1,
  input: { type: "object", required: ["name"], properties: { name: { type: "string" }, n: { type: "integer", minimum: 0 } } },
  start: "hello",
  nodes: { hello: { kind: "tool", tool: "echo", args: { greeting: "hi {{input.name}}" }, next: "done" }, done: { kind: "end", output: "{{nodes.hello.output.greeting}}" } },
  tools: { echo: { kind: "builtin", builtin: "echo" } },
  ...extra,
});

/** slow (a GET the fake tool server answers after `ms`) → after (a POST) → done, whose output is the slow call's `slow: true`. */
export const slowFlow = (id: string, ms: number) => ({
  id,
  version: 1,
  start: "slow",
  nodes: { slow: { kind: "tool", tool: "slow", next: "after" }, after: { kind: "tool", tool: "after", next: "done" }, done: { kind: "end", output: "{{nodes.slow.output.slow}}" } },
  tools: { slow: { kind: "http", method: "GET", url: `${env.FAKE_SERVICES_URL}/tools/slow?ms=${ms}` }, after: { kind: "http", method: "POST", url: `${env.FAKE_SERVICES_URL}/tools/after` } },
});
