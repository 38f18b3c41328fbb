/**
 * The `warden` CLI as a user runs it (a child process), the example workflows, and the
 * example services. The events log for replay is produced by driving the pure interpreter
 * with fabricated observations, exactly as the AgentRun Durable Object records real ones.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { periodKeys } from "../../src/budget/periods.ts";
import { decide, runScope } from "../../src/engine/decide.ts";
import type { NewEvent, RunEvent } from "../../src/engine/events.ts";
import { apply, initialState } from "../../src/engine/fold.ts";
import { validateInput } from "../../src/engine/input-schema.ts";
import type { CallState, RunState } from "../../src/engine/run-state.ts";
import { parseWorkflow, workflowSchema, type WorkflowDocument } from "../../src/engine/workflow-schema.ts";
import { parsePolicy, type Policy } from "../../src/policy/policy-schema.ts";
import { scriptedProvider } from "../../src/providers/scripted-provider.ts";
// @ts-expect-error: plain ESM module without type declarations
import { startExampleServices } from "../../scripts/example-services.mjs";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "cli/warden.mjs");
const SECRET = "cli-test-secret-cli-test-secret-0123456789";
const APPROVAL = "run_0123456789abcdefghijklmnop.review.1";
const TWICE = "run_0123456789abcdefghijklmnop.review.2";

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "warden-cli-"));
  writeFileSync(join(tmp, ".dev.vars"), `# test\nWARDEN_JWT_SECRET=${SECRET}\nFRAUD_KEY=k\n`);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI as a child process (asynchronously: some tests serve HTTP from this process). */
function warden(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`, WARDEN_DEV_VARS: join(tmp, ".dev.vars"), ...opts.env } as NodeJS.ProcessEnv;
  if (!opts.env?.WARDEN_TOKEN) delete env.WARDEN_TOKEN;
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: tmp, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

// ---------------------------------------------------------------- an events log from the interpreter

const DOC = {
  id: "cli-replay",
  version: 1,
  provider: { kind: "scripted", script: "s" },
  scripts: { s: { turns: [{ text: "unused: observations are fabricated below" }] } },
  start: "assess",
  nodes: {
    assess: { kind: "agent", model: "m", prompt: "Claim {{input.claimId}}", tools: ["lookup"], next: "route" },
    route: { kind: "branch", cases: [{ when: "nodes.assess.output.recommendation == 'pay'", next: "pay" }], default: "deny" },
    pay: { kind: "tool", tool: "pay", args: { claimId: "{{input.claimId}}", amount: "{{input.amount}}" }, next: "paid" },
    deny: { kind: "end", output: { status: "denied" } },
    paid: { kind: "end", output: { status: "paid", payout: "{{nodes.pay.output}}" } },
  },
  tools: { lookup: { kind: "builtin", builtin: "echo" }, pay: { kind: "builtin", builtin: "echo", atMostOnce: true } },
};

function observe(call: CallState, state: RunState): NewEvent {
  if (call.kind === "llm") {
    const first = state.counters.llmCalls === 1;
    const response = first
      ? { text: null, toolCalls: [{ id: "call_0_0", name: "lookup", args: { claimId: "C-1" } }], usage: { inputTokens: 1, outputTokens: 1 } }
      : { text: '{"recommendation":"pay"}', toolCalls: [], usage: { inputTokens: 1, outputTokens: 1 } };
    return { type: "llm.completed", data: { node: call.node, callId: call.callId, response } };
  }
  return { type: "tool.completed", data: { node: call.node, callId: call.callId, result: { status: 200, body: { ok: true, args: call.args } } } };
}

type PolicyEntries = Array<{ level: "global" | "tenant" | "workflow" | "node"; version: number | null; policy: unknown }>;

/**
 * Drives the interpreter over `doc` with fabricated observations (the fold memoises parsed
 * documents by the recorded hash, so each document gets its own). With `policies`, a
 * `policy.loaded` event follows run.started (as the Durable Object records it), so every call is
 * decided and recorded as `policy.decision` first.
 */
async function driveLog(doc: unknown, input: unknown, see: (call: CallState, state: RunState) => Promise<NewEvent> | NewEvent, policies?: PolicyEntries): Promise<{ events: RunEvent[]; state: RunState }> {
  const document = workflowSchema.parse(doc);
  const first = {
    seq: 1,
    type: "run.started",
    at: 1_700_000_000_000,
    data: { runId: "run_cli", tenant: "demo", workflow: { id: document.id, version: document.version, hash: `sha256:test-${document.id}@${document.version}` }, document, input, actor: { sub: "t", roles: ["admin"] }, requestHash: "h" },
  } as RunEvent;
  const events: RunEvent[] = [first];
  let state = initialState(first);
  const push = (ev: NewEvent) => {
    const e = { seq: state.seq + 1, type: ev.type, at: state.lastAt + 5, data: ev.data } as RunEvent;
    state = apply(state, e);
    events.push(e);
  };
  if (policies) push({ type: "policy.loaded", data: { hash: "sha256:policy-set", nodeHashes: {}, entries: policies } } as NewEvent);
  for (let i = 0; i < 200; i++) {
    const d = decide(state);
    if (d.kind === "append") d.events.forEach(push);
    else if (d.kind === "execute") push(await see(d.call, state));
    // a governed run borrows slices of its shared budgets: granted here, in full
    else if (d.kind === "reserve") push({ type: "budget.slice_granted", data: { sliceId: d.request.sliceId, scopes: d.request.scopes.map((sc) => ({ name: sc.name, granted: sc.want, ...periodKeys(state.lastAt + 5), used: sc.want })) } });
    else break;
  }
  return { events, state };
}

function buildLog(policies?: PolicyEntries): Promise<RunEvent[]> {
  return driveLog(DOC, { claimId: "C-1", amount: 120 }, observe, policies).then(({ events, state }) => {
    expect(state.status).toBe("completed");
    return events;
  });
}

const jsonl = (events: unknown[]) => events.map((e) => JSON.stringify(e)).join("\n") + "\n";

describe("warden replay", () => {
  let events: RunEvent[];
  let decisions: number;
  beforeAll(async () => {
    events = await buildLog();
    decisions = events.filter((e) => !["run.started", "llm.completed", "tool.completed"].includes(e.type)).length;
  });

  it("reproduces every decision of an untouched log (file and stdin)", async () => {
    const file = join(tmp, "ok.jsonl");
    writeFileSync(file, jsonl(events));
    const r = await warden(["replay", file]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`replayed ${events.length} events: ${decisions} decisions reproduced; final status completed`);
    const s = await warden(["replay", "-"], { input: jsonl(events) });
    expect(s.code).toBe(0);
    expect(s.stdout).toContain(`replayed ${events.length} events`);
  });

  it("exits 2 naming the seq when a branch decision was tampered with", async () => {
    const tampered = structuredClone(events);
    const branch = tampered.find((e) => e.type === "node.completed" && e.data.node === "route")!;
    expect(branch.type === "node.completed" && branch.data.next).toBe("pay");
    (branch.data as { next: string }).next = "deny";
    writeFileSync(join(tmp, "bad-branch.jsonl"), jsonl(tampered));
    const r = await warden(["replay", join(tmp, "bad-branch.jsonl")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`seq ${branch.seq}`);
    expect(r.stderr).toMatch(/expected: node\.completed .*"next":"pay"/);
    expect(r.stderr).toMatch(/actual: +node\.completed .*"next":"deny"/);
    expect(r.stdout).toBe("");
  });

  it("exits 2 naming the seq when tool arguments were tampered with", async () => {
    const tampered = structuredClone(events);
    const pay = tampered.find((e) => e.type === "tool.started" && e.data.tool === "pay")!;
    (pay.data as { args: { amount: number } }).args.amount = 99_999;
    writeFileSync(join(tmp, "bad-args.jsonl"), jsonl(tampered));
    const r = await warden(["replay", join(tmp, "bad-args.jsonl")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`first divergent event: seq ${pay.seq}`);
    expect(r.stderr).toContain("99999");
  });

  it("exits 2 when a decision the interpreter would not make is inserted", async () => {
    const cut = events.findIndex((e) => e.type === "run.completed");
    const forged = [...events.slice(0, cut), { seq: events[cut].seq, type: "run.failed", at: events[cut].at, data: { error: { message: "forged" } } }];
    const r = await warden(["replay", "-"], { input: jsonl(forged) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`seq ${events[cut].seq}`);
  });

  it("exits 1 naming the line for malformed input", async () => {
    const lines = jsonl(events).split("\n");
    const broken = [lines[0], lines[1], "{not json", ...lines.slice(2)].join("\n");
    const r = await warden(["replay", "-"], { input: broken });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^line 3: not valid JSON/);

    const badData = structuredClone(events);
    delete (badData[3].data as { node?: string }).node;
    const s = await warden(["replay", "-"], { input: "\n" + jsonl(badData) });
    expect(s.code).toBe(1);
    expect(s.stderr).toContain("line 5:");
    expect(s.stderr).toContain("data.node");

    const gap = await warden(["replay", "-"], { input: jsonl([events[0], events[2]]) });
    expect(gap.code).toBe(1);
    expect(gap.stderr).toContain("line 2: event seq 3 where seq 2 was expected");

    expect((await warden(["replay", "-"], { input: "" })).code).toBe(1);
    const missing = await warden(["replay", join(tmp, "nope.jsonl")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no such file");
  });
});

describe("warden replay of a governed run", () => {
  it("reproduces the policy decisions too", async () => {
    const events = await buildLog([{ level: "tenant", version: 1, policy: { tools: { deny: ["shell.*"] } } }]);
    expect(events.filter((e) => e.type === "policy.decision").length).toBe(4);
    const r = await warden(["replay", "-"], { input: jsonl(events) });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});

// ---------------------------------------------------------------- policies, offline

const POLICY_SET = `
levels:
  global:
    tools: { deny: ["shell.*"] }
    models: { allow: ["gpt-4.1*", "scripted"] }
  tenant:
    egress: { allow: [claims.example, "*.payments.example"] }
    rules:
      - id: big-payout
        when: "call.tool == 'payments.create' && double(call.args.amount) > 10000.0"
        effect: require_approval
        approvers: { roles: [supervisor] }
        reason: Payouts above 10,000 need a supervisor.
      - id: night
        when: "call.tool == 'payments.create' && now.getHours() < 6"
        effect: deny
        reason: No payouts at night.
      - id: too-many
        when: "counts.toolCalls >= 3 && input.vip != true"
        effect: deny
        on: [tool]
        reason: Three tool calls are enough.
`;

const FIXTURES = `
- name: lookup
  request: { action: tool, tool: claims.lookup, args: { id: C-1 }, host: claims.example }
  facts: { now: "2025-06-04T10:00:00Z" }
  expect: allow
  rules: []
- name: shell
  request: { action: tool, tool: shell.exec }
  expect: deny
- name: exfil
  request: { action: tool, tool: claims.upload, host: exfil.example }
  expect: deny
- name: subdomain egress
  request: { action: egress, host: eu.payments.example }
  expect: allow
- name: big payout by day
  request: { action: tool, tool: payments.create, args: { amount: 25000 } }
  facts: { now: "2025-06-04T10:00:00Z" }
  expect: require_approval
  rules: [big-payout]
- name: big payout at night
  request: { action: tool, tool: payments.create, args: { amount: 25000 } }
  facts: { now: "2025-06-04T02:00:00Z" }
  expect: deny
  rules: [big-payout, night]
- name: counts and input
  request: { action: tool, tool: claims.lookup }
  facts: { counts: { toolCalls: 3 }, input: { vip: true } }
  expect: allow
- name: model
  request: { action: llm, model: gpt-4.1-mini }
  expect: allow
`;

describe("warden policy test", () => {
  it("decides every fixture, prints a pass table with reasons, exit 0", async () => {
    writeFileSync(join(tmp, "set.yaml"), POLICY_SET);
    writeFileSync(join(tmp, "fixtures.yaml"), FIXTURES);
    const r = await warden(["policy", "test", join(tmp, "set.yaml"), "--fixtures", join(tmp, "fixtures.yaml")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^ +fixture +expected +decision +rules +reason$/);
    expect(lines.filter((l) => l.startsWith("pass "))).toHaveLength(8);
    expect(r.stdout).toMatch(/pass +exfil +deny +deny +- +egress to exfil\.example is not in the egress allowlist of the tenant policy/);
    expect(r.stdout).toMatch(/pass +shell .*tool "shell\.exec" is denied by the global policy \(pattern shell\.\*\)/);
    expect(r.stdout).toMatch(/pass +big payout at night +deny \[big-payout, night\] +deny +big-payout, night +.*No payouts at night\./);
    expect(r.stdout).toContain("8 passed, 0 failed");
  });

  it("marks a wrong effect or wrong rules FAIL and exits 1; a single policy is the tenant level", async () => {
    writeFileSync(join(tmp, "one.json"), JSON.stringify({ tools: { deny: ["payments.*"] }, rules: [{ id: "r1", when: "call.tool == 'claims.lookup'", effect: "allow", reason: "fine" }] }));
    writeFileSync(
      join(tmp, "one.fixtures.json"),
      JSON.stringify([
        { name: "ok", request: { action: "tool", tool: "claims.lookup" }, expect: "allow", rules: ["r1"] },
        { name: "wrong effect", request: { action: "tool", tool: "payments.create" }, expect: "allow" },
        { name: "wrong rules", request: { action: "tool", tool: "claims.lookup" }, expect: "allow", rules: ["r2"] },
      ]),
    );
    const r = await warden(["policy", "test", join(tmp, "one.json"), "--fixtures", join(tmp, "one.fixtures.json")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^pass +ok /m);
    expect(r.stdout).toMatch(/^FAIL +wrong effect +allow +deny +- +expected allow, got deny: tool "payments\.create" is denied by the tenant policy/m);
    expect(r.stdout).toMatch(/^FAIL +wrong rules +allow \[r2\] +allow +r1 +expected rules \[r2\]/m);
    expect(r.stdout).toContain("1 passed, 2 failed");
  });

  it("exits 1 with every path and message for a bad policy or bad fixtures", async () => {
    writeFileSync(join(tmp, "bad.yaml"), "levels:\n  tenant:\n    rules:\n      - { id: ok, when: 'true', effect: allow, reason: r }\n      - { id: broken, when: 'call.tool ==', effect: deny, reason: r }\n  global: { tools: { deny: 3 } }\n  galaxy: {}\n");
    writeFileSync(join(tmp, "fixtures.yaml"), FIXTURES);
    const r = await warden(["policy", "test", join(tmp, "bad.yaml"), "--fixtures", join(tmp, "fixtures.yaml")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("levels.galaxy: not a policy level");
    expect(r.stderr).toMatch(/- levels\.tenant\.rules\[1\]\.when: rule "broken": /);
    expect(r.stderr).toMatch(/- levels\.global\.tools\.deny: /);

    writeFileSync(join(tmp, "set.yaml"), POLICY_SET);
    writeFileSync(join(tmp, "bad.fixtures.yaml"), "- name: x\n  request: { action: frob }\n  expect: maybe\n- name: y\n  request: { action: tool }\n  facts: { now: yesterday }\n  expect: allow\n");
    const f = await warden(["policy", "test", join(tmp, "set.yaml"), "--fixtures", join(tmp, "bad.fixtures.yaml")]);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain("[0].request.action:");
    expect(f.stderr).toContain("[0].expect:");
    expect(f.stderr).toContain("[1].facts.now: must be an ISO 8601 date-time");

    writeFileSync(join(tmp, "broken.yaml"), "rules: [\n");
    const y = await warden(["policy", "test", join(tmp, "broken.yaml"), "--fixtures", join(tmp, "fixtures.yaml")]);
    expect(y.code).toBe(1);
    expect(y.stderr).toContain("broken.yaml is not valid YAML or JSON");
    const usage = await warden(["policy", "test", join(tmp, "set.yaml")]);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain("--fixtures is required");
  });
});

describe("warden policy simulate", () => {
  const governed: PolicyEntries = [{ level: "tenant", version: 1, policy: { tools: { deny: ["shell.*"] } } }];

  it("lists the decisions a proposed policy would change, exit 0", async () => {
    const events = await buildLog(governed);
    const decisions = events.filter((e) => e.type === "policy.decision");
    expect(decisions.map((e) => e.type === "policy.decision" && e.data.effect)).toEqual(["allow", "allow", "allow", "allow"]);
    writeFileSync(join(tmp, "governed.jsonl"), jsonl(events));
    writeFileSync(join(tmp, "proposed.yaml"), "tools: { deny: [pay] }\nrules:\n  - { id: no-model-m, when: \"call.model == 'm'\", effect: require_approval, approvers: { roles: [sup] }, reason: Model m needs a person., on: [llm] }\n");
    const r = await warden(["policy", "simulate", "--run", join(tmp, "governed.jsonl"), "--policy", join(tmp, "proposed.yaml")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe(`4 decisions, 3 would change (proposed tenant policy ${join(tmp, "proposed.yaml")})`);
    const pay = decisions.find((e) => e.type === "policy.decision" && e.data.request.tool === "pay")!;
    expect(lines).toContain(`  seq ${pay.seq}  pay  tool pay: allow -> deny  rules []  tool "pay" is denied by the tenant policy (pattern pay)`);
    expect(lines.filter((l) => /^ {2}seq \d+ {2}assess {2}model m: allow -> require_approval {2}rules \[no-model-m\] {2}Model m needs a person\.$/.test(l))).toHaveLength(2);
    expect(r.stdout).not.toContain("lookup:");

    // the same policy as recorded changes nothing
    writeFileSync(join(tmp, "same.json"), JSON.stringify({ tools: { deny: ["shell.*"] } }));
    const same = await warden(["policy", "simulate", "--run", join(tmp, "governed.jsonl"), "--policy", join(tmp, "same.json"), "--level", "tenant"]);
    expect(same.code).toBe(0);
    expect(same.stdout.trim()).toBe(`4 decisions, 0 would change (proposed tenant policy ${join(tmp, "same.json")})`);
  });

  it("says so when the run was not governed", async () => {
    writeFileSync(join(tmp, "ungoverned.jsonl"), jsonl(await buildLog()));
    writeFileSync(join(tmp, "same.json"), JSON.stringify({ tools: { deny: ["shell.*"] } }));
    const r = await warden(["policy", "simulate", "--run", join(tmp, "ungoverned.jsonl"), "--policy", join(tmp, "same.json")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("0 decisions, 0 would change");
    expect(r.stdout).toContain("the log records no policy set");
  });

  it("exits 1 on a bad policy, a bad log, a bad level or missing options", async () => {
    writeFileSync(join(tmp, "governed.jsonl"), jsonl(await buildLog(governed)));
    writeFileSync(join(tmp, "same.json"), JSON.stringify({ tools: { deny: ["shell.*"] } }));
    writeFileSync(join(tmp, "badpol.yaml"), "rules:\n  - { id: x, when: 'call.tool ==', effect: deny, reason: r }\nretention: { days: 30 }\n");
    const bad = await warden(["policy", "simulate", "--run", join(tmp, "governed.jsonl"), "--policy", join(tmp, "badpol.yaml")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("- retention.days: retention may not be below the 183-day floor");
    const lines = jsonl(await buildLog(governed)).split("\n");
    const log = await warden(["policy", "simulate", "--run", "-", "--policy", join(tmp, "same.json")], { input: [lines[0], "{nope", ...lines.slice(1)].join("\n") });
    expect(log.code).toBe(1);
    expect(log.stderr).toMatch(/^line 2: not valid JSON/);
    const level = await warden(["policy", "simulate", "--run", join(tmp, "governed.jsonl"), "--policy", join(tmp, "same.json"), "--level", "planet"]);
    expect(level.code).toBe(1);
    expect(level.stderr).toContain("--level must be one of global, tenant, workflow, node");
    writeFileSync(join(tmp, "global-doc.yaml"), "level: global\n");
    const mismatch = await warden(["policy", "simulate", "--run", join(tmp, "governed.jsonl"), "--policy", join(tmp, "global-doc.yaml"), "--level", "tenant"]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain('says level "global" but --level is tenant');
    const missing = await warden(["policy", "simulate", "--run", join(tmp, "governed.jsonl")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("--run and --policy are required");
    const empty = await warden(["policy", "simulate", "--run", "-", "--policy", join(tmp, "same.json")], { input: "" });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("no events to simulate");
  });
});

describe("warden token", () => {
  it("mints a token that verifies against the .dev.vars secret", async () => {
    const r = await warden(["token", "--tenant", "acme", "--role", "operator", "--role", "auditor", "--sub", "alice"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(SECRET), { issuer: "warden", audience: "warden-api", algorithms: ["HS256"] });
    expect(payload).toMatchObject({ sub: "alice", tenant: "acme", roles: ["operator", "auditor"] });
    await expect(jwtVerify(r.stdout.trim(), new TextEncoder().encode(`${SECRET}x`))).rejects.toThrow();
  });

  it("mints an approver token for a person of the directory (--sub is their email)", async () => {
    const r = await warden(["token", "--tenant", "demo", "--role", "approver", "--sub", "tess@demo.test"]);
    expect(r.code).toBe(0);
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(SECRET), { issuer: "warden", audience: "warden-api" });
    expect(payload).toMatchObject({ sub: "tess@demo.test", tenant: "demo", roles: ["approver"] });
  });

  it("defaults to an admin of tenant demo and rejects bad claims or a missing secret", async () => {
    const r = await warden(["token"]);
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(SECRET), { issuer: "warden", audience: "warden-api" });
    expect(payload).toMatchObject({ tenant: "demo", roles: ["admin"] });
    const bad = await warden(["token", "--role", "root"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("roles.0");
    const none = await warden(["token"], { env: { WARDEN_DEV_VARS: join(tmp, "missing.vars") } });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("missing.vars");
  });
});

describe("warden API commands", () => {
  let server: Server;
  let url: string;
  const seen: Array<{ method: string; path: string; auth: string | undefined; type: string | undefined; key: string | undefined; client: string | undefined; body: string }> = [];
  let slowSettlesAt: number | undefined;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ method: req.method!, path: req.url!, auth: req.headers.authorization, type: req.headers["content-type"], key: req.headers["idempotency-key"] as string | undefined, client: req.headers["x-warden-client"] as string | undefined, body });
        if (req.url === "/v1/workflows" && req.method === "POST") {
          res.writeHead(422, { "content-type": "application/problem+json" });
          return res.end(JSON.stringify({ type: "urn:warden:problem:invalid", title: "Invalid workflow", status: 422, detail: "the workflow document has 1 error(s)", errors: [{ path: "nodes.a.next", message: 'names node "b", which does not exist' }] }));
        }
        if (req.url!.startsWith("/v1/policies/")) {
          if (req.method === "PUT") {
            const { policy, reason } = JSON.parse(body) as { policy: { rules?: Array<{ id: string; when: string }> }; reason: string };
            const broken = (policy.rules ?? []).findIndex((r) => r.when === "call.tool ==");
            if (broken >= 0) {
              res.writeHead(422, { "content-type": "application/problem+json" });
              return res.end(JSON.stringify({ type: "urn:warden:problem:invalid", title: "Invalid policy", status: 422, detail: "the policy has 1 error(s); the policy in force is unchanged", errors: [{ path: `rules[${broken}].when`, message: `rule "${policy.rules![broken].id}": Unexpected end of input (at column 13)` }] }));
            }
            res.writeHead(201, { "content-type": "application/json" });
            return res.end(JSON.stringify({ scope: "tenant", version: 2, policy, author: "ada", at: "2025-01-01T00:00:00.000Z", reason, diff: [] }));
          }
          res.writeHead(200, { "content-type": "application/json" });
          return res.end(JSON.stringify(req.url!.endsWith("/history") ? { items: [{ version: 1, reason: "first" }], next: null } : { scope: "tenant", version: 1, policy: { tools: { deny: ["shell.*"] } } }));
        }
        if (req.url === `/v1/approvals/${TWICE}/decision`) {
          res.writeHead(409, { "content-type": "application/problem+json" });
          return res.end(JSON.stringify({ type: "about:blank", title: "Conflict", status: 409, detail: "sam@demo.test has already decided; a person counts once toward the quorum" }));
        }
        if (req.url === "/v1/directory" && req.method === "PUT" && !JSON.parse(body).users?.every((u: { id?: string }) => u.id)) {
          res.writeHead(422, { "content-type": "application/problem+json" });
          return res.end(JSON.stringify({ type: "urn:warden:problem:invalid", title: "Invalid request body", status: 422, detail: "the body has 1 error(s)", errors: [{ path: "users.0.id", message: "Invalid input: expected string, received undefined" }] }));
        }
        if (req.url!.startsWith("/v1/runs/run_slow?") && req.method === "GET") {
          // as the API does for ?wait=S: holds the request until the run settles (0.6 s after the
          // first ask here) or S seconds pass
          slowSettlesAt ??= Date.now() + 600;
          const wait = Number(new URL(req.url!, "http://x").searchParams.get("wait")) * 1000;
          const answer = () => {
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify({ id: "run_slow", status: Date.now() >= slowSettlesAt! ? "completed" : "running", waiting: null }));
          };
          setTimeout(answer, Math.max(0, Math.min(wait, slowSettlesAt - Date.now())));
          return;
        }
        if (req.url!.startsWith("/v1/runs/run_old?") && req.method === "GET") {
          // an older API that ignores ?wait=: answers at once, and the run completes on the third ask
          const asks = seen.filter((s) => s.path.startsWith("/v1/runs/run_old?")).length;
          res.writeHead(200, { "content-type": "application/json" });
          return res.end(JSON.stringify({ id: "run_old", status: asks >= 3 ? "completed" : "running", waiting: null }));
        }
        if (req.url!.startsWith("/v1/runs/run_waits?") && req.method === "GET") {
          res.writeHead(200, { "content-type": "application/json" });
          return res.end(JSON.stringify({ id: "run_waits", status: "waiting", waiting: { reason: "approval", approvalId: APPROVAL, until: null } }));
        }
        if (req.url!.startsWith("/v1/approvals") || req.url!.startsWith("/v1/directory")) {
          res.writeHead(200, { "content-type": "application/json" });
          return res.end(JSON.stringify({ approvalId: APPROVAL, status: "pending", items: [] }));
        }
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: "run_x", status: "running" }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("prints API problems with status, title, detail and each error, exit 1", async () => {
    const r = await warden(["workflows", "publish", join(ROOT, "examples/hello.yaml")], { env: { WARDEN_URL: url, WARDEN_TOKEN: "tok" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: 422 Invalid workflow: the workflow document has 1 error(s)");
    expect(r.stderr).toContain('  - nodes.a.next: names node "b", which does not exist');
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ method: "POST", path: "/v1/workflows", auth: "Bearer tok", type: "application/yaml" });
    expect(last.body).toBe(readFileSync(join(ROOT, "examples/hello.yaml"), "utf8"));
  });

  it("starts a run with input, an idempotency key and a minted token", async () => {
    const r = await warden(["runs", "start", "hello@1", "--input", join(ROOT, "examples/hello.input.json"), "--idempotency-key", "k-1"], { env: { WARDEN_URL: `${url}/` } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ id: "run_x", status: "running" });
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ method: "POST", path: "/v1/runs", key: "k-1", type: "application/json" });
    expect(JSON.parse(last.body)).toEqual({ workflow: "hello@1", input: { name: "Ada" } });
    const { payload } = await jwtVerify(last.auth!.replace("Bearer ", ""), new TextEncoder().encode(SECRET), { issuer: "warden", audience: "warden-api" });
    expect(payload).toMatchObject({ tenant: "demo", roles: ["admin"] });
  });

  it("passes query and reason through, and explains an unreachable server", async () => {
    expect((await warden(["runs", "list", "--workflow", "hello", "--status", "completed"], { env: { WARDEN_URL: url } })).code).toBe(0);
    expect(seen.at(-1)!.path).toBe("/v1/runs?workflow=hello&status=completed");
    expect((await warden(["runs", "halt", "run_x", "--reason", "stop it"], { env: { WARDEN_URL: url } })).code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "POST", path: "/v1/runs/run_x/halt", body: '{"reason":"stop it"}' });
    const down = await warden(["workflows", "list"], { env: { WARDEN_URL: "http://127.0.0.1:9" } });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("cannot reach Warden at http://127.0.0.1:9");
  });

  it("lists, shows and decides approvals, marking decisions as made via the CLI", async () => {
    const env = { WARDEN_URL: url, WARDEN_TOKEN: "tess-token" };
    expect((await warden(["approvals", "list"], { env })).code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "GET", path: "/v1/approvals", auth: "Bearer tess-token" });
    expect((await warden(["approvals", "list", "--status", "pending", "--all"], { env })).code).toBe(0);
    expect(seen.at(-1)!.path).toBe("/v1/approvals?status=pending&all=true");
    const got = await warden(["approvals", "get", APPROVAL], { env });
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ approvalId: APPROVAL });
    expect(seen.at(-1)).toMatchObject({ method: "GET", path: `/v1/approvals/${APPROVAL}` });

    const approve = await warden(["approvals", "approve", APPROVAL, "--comment", "agreed"], { env });
    expect(approve.stderr).toBe("");
    expect(approve.code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "POST", path: `/v1/approvals/${APPROVAL}/decision`, type: "application/json", client: "cli", auth: "Bearer tess-token" });
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ decision: "approve", comment: "agreed" });
    expect((await warden(["approvals", "reject", APPROVAL], { env })).code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "POST", path: `/v1/approvals/${APPROVAL}/decision`, client: "cli" });
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ decision: "reject" });

    const twice = await warden(["approvals", "approve", TWICE], { env });
    expect(twice.code).toBe(1);
    expect(twice.stdout).toBe("");
    expect(twice.stderr.trim()).toBe("error: 409 Conflict: sam@demo.test has already decided; a person counts once toward the quorum");
  });

  it("`runs wait` returns when the run waits for a person's approval", async () => {
    const r = await warden(["runs", "wait", "run_waits", "--timeout", "5"], { env: { WARDEN_URL: url, WARDEN_TOKEN: "t" } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).waiting).toEqual({ reason: "approval", approvalId: APPROVAL, until: null });
  });

  it("`runs wait` asks the API to hold the request (?wait=S) until the run settles: one request", async () => {
    const started = Date.now();
    const r = await warden(["runs", "wait", "run_slow", "--timeout", "20"], { env: { WARDEN_URL: url, WARDEN_TOKEN: "t" } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).status).toBe("completed");
    const asks = seen.filter((s) => s.path.startsWith("/v1/runs/run_slow?"));
    expect(asks).toHaveLength(1);
    expect(Number(new URL(asks[0].path, "http://x").searchParams.get("wait"))).toBeGreaterThan(15);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("`runs wait` polls gently an API that answers before the wait is up", async () => {
    const started = Date.now();
    const r = await warden(["runs", "wait", "run_old", "--timeout", "20"], { env: { WARDEN_URL: url, WARDEN_TOKEN: "t" } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).status).toBe("completed");
    expect(seen.filter((s) => s.path.startsWith("/v1/runs/run_old?"))).toHaveLength(3);
    // two pauses of 250 ms between the three asks, not a busy loop
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  });

  it("reassigns and cancels approvals with their reasons", async () => {
    const env = { WARDEN_URL: url, WARDEN_TOKEN: "ops" };
    const re = await warden(["approvals", "reassign", APPROVAL, "--user", "mia@demo.test", "--user", "sam@demo.test", "--role", "claims-manager", "--reason", "on leave"], { env });
    expect(re.stderr).toBe("");
    expect(re.code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "POST", path: `/v1/approvals/${APPROVAL}/reassign`, client: "cli" });
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ to: { users: ["mia@demo.test", "sam@demo.test"], roles: ["claims-manager"] }, reason: "on leave" });
    expect((await warden(["approvals", "reassign", APPROVAL, "--role", "claims-manager"], { env })).code).toBe(0);
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ to: { roles: ["claims-manager"] } });
    const count = seen.length;
    const nobody = await warden(["approvals", "reassign", APPROVAL, "--reason", "x"], { env });
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain("name at least one --user or --role");
    expect(seen.length).toBe(count); // nothing was sent

    expect((await warden(["approvals", "cancel", APPROVAL, "--reason", "claim withdrawn"], { env })).code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "POST", path: `/v1/approvals/${APPROVAL}/cancel` });
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ reason: "claim withdrawn" });
    expect((await warden(["approvals", "cancel", APPROVAL], { env })).code).toBe(0);
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({});
  });

  it("rejects bad approvals usage before calling the API", async () => {
    const env = { WARDEN_URL: url, WARDEN_TOKEN: "t" };
    const count = seen.length;
    expect((await warden(["approvals", "approve"], { env })).stderr).toContain("usage: warden approvals approve ID [--comment C]");
    expect((await warden(["approvals", "get"], { env })).stderr).toContain("usage: warden approvals get ID");
    const flag = await warden(["approvals", "approve", APPROVAL, "--decision", "approve"], { env });
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain("--decision");
    const unknown = await warden(["approvals", "frob"], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown command "approvals frob"');
    expect(seen.length).toBe(count);
  });

  it("reads memory as of a time, lists conflicts and resolves one", async () => {
    const env = { WARDEN_URL: url };
    const get = await warden(["memory", "get", "claimant-c-1", "--as-of", "2026-11-01T00:00:00Z", "--subject", "c-1", "--attribute", "address"], { env });
    expect(get.stderr).toBe("");
    expect(get.code).toBe(0);
    const asOf = new URL(seen.at(-1)!.path, "http://x");
    expect([seen.at(-1)!.method, asOf.pathname, asOf.searchParams.get("as_of"), asOf.searchParams.get("subject"), asOf.searchParams.get("attribute")]).toEqual(["GET", "/v1/memory/claimant-c-1", "2026-11-01T00:00:00Z", "c-1", "address"]);
    expect((await warden(["memory", "conflicts", "--scope", "claimant-c-1", "--status", "all"], { env })).code).toBe(0);
    const list = new URL(seen.at(-1)!.path, "http://x");
    expect([list.pathname, list.searchParams.get("scope"), list.searchParams.get("status")]).toEqual(["/v1/memory/conflicts", "claimant-c-1", "all"]);
    expect((await warden(["memory", "resolve", "claimant-c-1", "3", "keep_old", "--note", "called the claimant"], { env })).code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "POST", path: "/v1/memory/claimant-c-1/conflicts/3/resolve" });
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ resolution: "keep_old", note: "called the claimant" });
    const bad = await warden(["memory", "resolve", "claimant-c-1", "3"], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("usage: warden memory resolve");
  });

  it("puts and gets the directory", async () => {
    const file = join(ROOT, "examples/directory.json");
    const put = await warden(["directory", "put", file], { env: { WARDEN_URL: url } });
    expect(put.stderr).toBe("");
    expect(put.code).toBe(0);
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ method: "PUT", path: "/v1/directory", type: "application/json" });
    expect(JSON.parse(last.body)).toEqual(JSON.parse(readFileSync(file, "utf8")));
    expect((await warden(["directory", "get"], { env: { WARDEN_URL: url } })).code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "GET", path: "/v1/directory" });

    writeFileSync(join(tmp, "dir-array.json"), JSON.stringify([{ id: "sam", roles: ["claims-supervisor"] }]));
    expect((await warden(["directory", "put", join(tmp, "dir-array.json")], { env: { WARDEN_URL: url } })).code).toBe(0);
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ users: [{ id: "sam", roles: ["claims-supervisor"] }] });

    writeFileSync(join(tmp, "dir-bad.json"), JSON.stringify({ users: [{ roles: [] }] }));
    const bad = await warden(["directory", "put", join(tmp, "dir-bad.json")], { env: { WARDEN_URL: url } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("error: 422 Invalid request body");
    expect(bad.stderr).toContain("  - users.0.id: Invalid input");
    writeFileSync(join(tmp, "dir-broken.json"), "{ users: ");
    const broken = await warden(["directory", "put", join(tmp, "dir-broken.json")], { env: { WARDEN_URL: url } });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain("dir-broken.json is not valid JSON");
  });

  it("puts a policy file (YAML or JSON) with its reason, and gets a policy and its history at each level", async () => {
    const env = { WARDEN_URL: url, WARDEN_TOKEN: "platform-admin" };
    const global = join(ROOT, "examples/policies/global.yaml");
    const put = await warden(["policy", "put", "global", global, "--reason", "SPEC Appendix A — 7 years"], { env });
    expect(put.stderr).toBe("");
    expect(put.code).toBe(0);
    expect(JSON.parse(put.stdout)).toMatchObject({ version: 2, reason: "SPEC Appendix A — 7 years" });
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ method: "PUT", path: "/v1/policies/global", type: "application/json", auth: "Bearer platform-admin" });
    const sent = JSON.parse(last.body);
    expect(sent.reason).toBe("SPEC Appendix A — 7 years");
    expect(sent.policy).toMatchObject({ level: "global", tools: { deny: ["fs.*", "shell.*"] }, retention: { days: 2555 } });

    writeFileSync(join(tmp, "tenant.json"), JSON.stringify({ egress: { allow: ["claims.example"] } }));
    expect((await warden(["policy", "put", "tenant", "demo corp", join(tmp, "tenant.json"), "--reason", "egress"], { env })).code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "PUT", path: "/v1/policies/tenants/demo%20corp" });
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ policy: { egress: { allow: ["claims.example"] } }, reason: "egress" });
    expect((await warden(["policy", "put", "workflow", "claims-triage", join(tmp, "tenant.json"), "--reason", "wf"], { env })).code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "PUT", path: "/v1/policies/workflows/claims-triage" });

    const got = await warden(["policy", "get", "tenant", "demo"], { env });
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ version: 1 });
    expect(seen.at(-1)).toMatchObject({ method: "GET", path: "/v1/policies/tenants/demo" });
    expect((await warden(["policy", "get", "global"], { env })).code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "GET", path: "/v1/policies/global" });
    const history = await warden(["policy", "history", "workflow", "claims-triage"], { env });
    expect(JSON.parse(history.stdout)).toEqual({ items: [{ version: 1, reason: "first" }], next: null });
    expect(seen.at(-1)).toMatchObject({ method: "GET", path: "/v1/policies/workflows/claims-triage/history" });
    expect((await warden(["policy", "history", "global"], { env })).code).toBe(0);
    expect(seen.at(-1)!.path).toBe("/v1/policies/global/history");
  });

  it("prints a rejected policy's errors with their paths, and checks usage before calling the API", async () => {
    const env = { WARDEN_URL: url, WARDEN_TOKEN: "t" };
    writeFileSync(join(tmp, "broken-rule.yaml"), "rules:\n  - { id: ok, when: 'true', effect: allow, reason: r }\n  - { id: broken, when: 'call.tool ==', effect: deny, reason: r }\n");
    const bad = await warden(["policy", "put", "tenant", "demo", join(tmp, "broken-rule.yaml"), "--reason", "try"], { env });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain("error: 422 Invalid policy: the policy has 1 error(s); the policy in force is unchanged");
    expect(bad.stderr).toContain('  - rules[1].when: rule "broken": Unexpected end of input (at column 13)');

    const count = seen.length;
    const noReason = await warden(["policy", "put", "tenant", "demo", join(tmp, "broken-rule.yaml")], { env });
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toContain("a policy change needs a reason: --reason R");
    expect((await warden(["policy", "put", "tenant", join(tmp, "broken-rule.yaml"), "--reason", "x"], { env })).stderr).toContain("usage: warden policy put global|tenant T|workflow W FILE --reason R");
    expect((await warden(["policy", "get", "planet"], { env })).stderr).toContain("usage: warden policy get global|tenant T|workflow W");
    expect((await warden(["policy", "get", "tenant"], { env })).code).toBe(1);
    expect((await warden(["policy", "history", "global", "extra"], { env })).code).toBe(1);
    writeFileSync(join(tmp, "not-yaml.yaml"), "tools: [\n");
    const syntax = await warden(["policy", "put", "global", join(tmp, "not-yaml.yaml"), "--reason", "x"], { env });
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toContain("not-yaml.yaml is not valid YAML or JSON");
    const unknown = await warden(["policy", "frob"], { env });
    expect(unknown.stderr).toContain('unknown command "policy frob"');
    expect(seen.length).toBe(count);
  });

  it("prints usage for help and no arguments, and fails on unknown commands", async () => {
    for (const args of [[], ["help"]]) {
      const r = await warden(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("warden replay FILE|-");
      expect(r.stdout).toContain("WARDEN_DEV_VARS");
      expect(r.stdout).toContain("warden approvals approve|reject ID [--comment C]");
      expect(r.stdout).toContain("warden directory put FILE");
      expect(r.stdout).toContain("warden policy put global|tenant T|workflow W FILE --reason R");
      expect(r.stdout).toContain("warden policy test FILE --fixtures FIXTURES");
      expect(r.stdout).toContain("warden policy simulate --run FILE --policy FILE [--level L]");
    }
    const bad = await warden(["frobnicate"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown command "frobnicate"');
    expect((await warden(["runs", "get"])).stderr).toContain("usage: warden runs get ID");
  });
});

describe("examples", () => {
  const files = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".yaml"));

  it("has the claims-triage and hello examples", async () => {
    expect(files).toEqual(expect.arrayContaining(["claims-triage.yaml", "hello.yaml"]));
  });

  it.each(files)("%s parses, and its input examples match its input schema", (f) => {
    const parsed = parseWorkflow(readFileSync(join(ROOT, "examples", f), "utf8"));
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
    if (!parsed.ok) return;
    expect(`${parsed.document.id}.yaml`).toBe(f);
    const input = JSON.parse(readFileSync(join(ROOT, "examples", f.replace(/\.yaml$/, ".input.json")), "utf8"));
    expect(validateInput(parsed.document.input, input)).toEqual([]);
    expect(validateInput(parsed.document.input, {}).length).toBeGreaterThan(0);
    for (const extra of readdirSync(join(ROOT, "examples")).filter((n) => n.startsWith(`${parsed.document.id}.`) && n.endsWith(".input.json"))) {
      expect([extra, validateInput(parsed.document.input, JSON.parse(readFileSync(join(ROOT, "examples", extra), "utf8")))]).toEqual([extra, []]);
    }
  });

  it("claims-triage sends large claims to a two-supervisor approval that escalates and times out", () => {
    const parsed = parseWorkflow(readFileSync(join(ROOT, "examples/claims-triage.yaml"), "utf8"));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const doc = parsed.document;
    expect(doc.version).toBeGreaterThanOrEqual(4);
    const route = doc.nodes.route;
    expect(route.kind === "branch" && route.cases.map((c) => c.next)).toEqual(["pay", "review"]);
    expect(doc.nodes.review).toMatchObject({
      kind: "approval",
      approvers: { roles: ["claims-supervisor"], quorum: 2 },
      separationOfDuties: true,
      context: "Claim {{input.claimId}}: {{nodes.assess.output.summary}}",
      escalate: [{ after: "4h", to: { roles: ["claims-manager"] } }],
      timeout: { after: "3d", outcome: "reject" },
      onApprove: "pay",
      onReject: "deny",
    });
    const large = JSON.parse(readFileSync(join(ROOT, "examples/claims-triage.large.input.json"), "utf8"));
    expect(large.amount).toBeGreaterThan(10_000);
    const small = JSON.parse(readFileSync(join(ROOT, "examples/claims-triage.input.json"), "utf8"));
    expect(small.amount).toBeLessThanOrEqual(10_000);
  });

  it("directory.json is a valid directory that can staff every approval in the examples", () => {
    const dir = JSON.parse(readFileSync(join(ROOT, "examples/directory.json"), "utf8")) as { users: Array<{ id: string; email?: string; name?: string; roles: string[] }> };
    expect(Object.keys(dir)).toEqual(["users"]);
    const ids = dir.users.map((u) => u.id.toLowerCase());
    expect(new Set(ids).size).toBe(ids.length);
    for (const u of dir.users) {
      expect(Object.keys(u).every((k) => ["id", "email", "name", "roles"].includes(k))).toBe(true);
      expect(u.id.length).toBeGreaterThan(0);
      expect(u.roles.every((r) => typeof r === "string" && r.length > 0 && r.length <= 64)).toBe(true);
      // the id is the email, so `warden token --sub <email>` and the mailed link name the same person
      if (u.email) {
        expect(u.email).toMatch(/^[^@\s]+@[^@\s]+\.[a-z]+$/);
        expect(u.id).toBe(u.email);
      }
    }
    const holders = (role: string) => dir.users.filter((u) => u.roles.includes(role));
    let approvals = 0;
    for (const f of files) {
      const parsed = parseWorkflow(readFileSync(join(ROOT, "examples", f), "utf8"));
      if (!parsed.ok) continue;
      for (const [id, node] of Object.entries(parsed.document.nodes)) {
        if (node.kind !== "approval") continue;
        approvals++;
        const where = `${f} nodes.${id}`;
        for (const role of [...node.approvers.roles, ...node.escalate.flatMap((e) => e.to.roles)]) expect([where, role, holders(role).length > 0]).toEqual([where, role, true]);
        // the quorum is reachable by distinct people with an email (they are mailed a link)
        const people = new Set([...node.approvers.users, ...node.approvers.roles.flatMap((r) => holders(r).filter((u) => u.email).map((u) => u.id))]);
        expect([where, people.size >= node.approvers.quorum]).toEqual([where, true]);
      }
    }
    expect(approvals).toBeGreaterThan(0);
    expect(holders("claims-supervisor").length).toBeGreaterThanOrEqual(2);
    expect(dir.users.some((u) => u.roles.length > 0 && !u.roles.includes("claims-supervisor") && !u.roles.includes("claims-manager"))).toBe(true); // a clerk, who may not approve
  });
});

describe("example policies", () => {
  const dir = join(ROOT, "examples/policies");
  const policyFiles = readdirSync(dir).filter((f) => f.endsWith(".yaml") && !f.includes("fixtures") && f !== "demo-set.yaml");
  const load = (f: string): Policy => {
    const parsed = parsePolicy(readFileSync(join(dir, f), "utf8"));
    if (!parsed.ok) throw new Error(`${f}: ${JSON.stringify(parsed.errors)}`);
    return parsed.policy;
  };

  it.each(policyFiles)("%s parses (zod and every rule's CEL)", (f) => {
    const parsed = parsePolicy(readFileSync(join(dir, f), "utf8"));
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
  });

  it("global and tenant demo say what the tour promises", () => {
    expect(policyFiles).toEqual(expect.arrayContaining(["global.yaml", "tenant-demo.yaml"]));
    const global = load("global.yaml");
    expect(global.level).toBe("global");
    expect(global.tools?.deny).toEqual(expect.arrayContaining(["fs.*", "shell.*"]));
    expect(global.models?.allow).toContain("scripted");
    expect(global.retention?.days).toBe(2555);
    expect(global.rules.find((r) => r.id === "no-wire-transfers-on-weekends")).toMatchObject({ effect: "deny", when: expect.stringContaining("now.getDayOfWeek() in [0, 6]") });
    const tenant = load("tenant-demo.yaml");
    expect(tenant.egress?.allow).toEqual(["claims.example", "fraud.example", "payments.example"]);
    expect(tenant.rules).toContainEqual(expect.objectContaining({ id: "big-payout-needs-human", when: "call.tool == 'payments.create' && double(call.args.amount) > 10000.0", effect: "require_approval", approvers: { roles: ["claims-supervisor"], users: [], quorum: 1 } }));
    // every model the example workflows use is allowed
    for (const f of readdirSync(join(ROOT, "examples")).filter((n) => n.endsWith(".yaml"))) {
      const parsed = parseWorkflow(readFileSync(join(ROOT, "examples", f), "utf8"));
      if (!parsed.ok) continue;
      for (const node of Object.values(parsed.document.nodes)) if ("model" in node && typeof node.model === "string") expect([f, node.model, global.models!.allow!.some((p) => new RegExp(`^${p.replace(/[.]/g, "\\.").replace(/\*/g, ".*")}$`).test(node.model as string))]).toEqual([f, node.model, true]);
    }
  });

  it("the demo fixtures pass under the demo policy set (`warden policy test`)", async () => {
    const r = await warden(["policy", "test", join(dir, "demo-set.yaml"), "--fixtures", join(dir, "demo.fixtures.yaml")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\d+ passed, 0 failed/);
  });

  it("claims-exfil under the example policies: the upload and the shell are denied, the model is told, the run completes", async () => {
    const parsed = parseWorkflow(readFileSync(join(ROOT, "examples/claims-exfil.yaml"), "utf8"));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const doc: WorkflowDocument = parsed.document;
    const input = JSON.parse(readFileSync(join(ROOT, "examples/claims-exfil.input.json"), "utf8"));
    const entries: PolicyEntries = [
      { level: "global", version: 1, policy: load("global.yaml") },
      { level: "tenant", version: 1, policy: load("tenant-demo.yaml") },
    ];
    const see = async (call: CallState, state: RunState): Promise<NewEvent> => {
      if (call.kind === "llm") {
        const response = await scriptedProvider.complete(call.request!, { doc, scope: runScope(state), idempotencyKey: call.idempotencyKey, callId: call.callId, env: {}, hosts: {} });
        return { type: "llm.completed", data: { node: call.node, callId: call.callId, response } };
      }
      return { type: "tool.completed", data: { node: call.node, callId: call.callId, result: { status: 200, body: { claimId: "CLM-1001", covered: true } } } };
    };
    const { events, state } = await driveLog(doc, input, see, entries);
    expect(state.status).toBe("completed");
    const decisions = events.flatMap((e) => (e.type === "policy.decision" ? [e.data] : []));
    expect(decisions.filter((d) => d.action === "tool").map((d) => [d.request.tool, d.effect])).toEqual([
      ["claims.upload", "deny"],
      ["shell.exec", "deny"],
      ["claims.lookup", "allow"],
    ]);
    expect(decisions[1].reason).toContain("egress to exfil.example is not in the egress allowlist of the tenant policy");
    expect(decisions.find((d) => d.request.tool === "shell.exec")!.reason).toContain('tool "shell.exec" is denied by the global policy');
    expect(events.filter((e) => e.type === "tool.denied")).toHaveLength(2);
    expect(events.filter((e) => e.type === "tool.started").map((e) => e.type === "tool.started" && e.data.tool)).toEqual(["claims.lookup"]);

    // and the proposed tenant policy would deny every model call of this run
    writeFileSync(join(tmp, "exfil.jsonl"), jsonl(events));
    const sim = await warden(["policy", "simulate", "--run", join(tmp, "exfil.jsonl"), "--policy", join(dir, "tenant-demo.proposed.yaml")]);
    expect(sim.stderr).toBe("");
    expect(sim.code).toBe(0);
    const llmCalls = decisions.filter((d) => d.action === "llm").length;
    expect(sim.stdout).toContain(`${decisions.length} decisions, ${llmCalls} would change`);
    expect(sim.stdout).toContain('model scripted: allow -> deny  rules []  model "scripted" is not in the model allowlist of the tenant policy');
  });
});

describe("example services", () => {
  let svc: { url: string; close: () => Promise<void> };
  const lines: string[] = [];
  beforeAll(async () => {
    svc = await startExampleServices(0, { fraudKey: "fk", log: (l: string) => lines.push(l) });
  });
  afterAll(() => svc.close());

  it("serves claims, fraud (with its key) and idempotent payouts", async () => {
    const claim = await fetch(`${svc.url}/api/claims/CLM-1001`);
    expect(await claim.json()).toMatchObject({ claimId: "CLM-1001", covered: true });
    const noKey = await fetch(`${svc.url}/score`, { method: "POST", body: JSON.stringify({ claimId: "CLM-1001" }) });
    expect(noKey.status).toBe(401);
    const score = await fetch(`${svc.url}/score`, { method: "POST", headers: { authorization: "Bearer fk" }, body: JSON.stringify({ claimId: "CLM-1001" }) });
    expect(await score.json()).toMatchObject({ band: "low" });
    const pay = () => fetch(`${svc.url}/payouts`, { method: "POST", headers: { "idempotency-key": "run_1/pay#1.1" }, body: JSON.stringify({ claimId: "CLM-1001", amount: 4200 }) });
    const a = await pay();
    const b = await pay();
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    const [pa, pb] = [(await a.json()) as { payoutId: string }, (await b.json()) as { payoutId: string; replayed?: boolean }];
    expect(pb.payoutId).toBe(pa.payoutId);
    expect(pb.replayed).toBe(true);
    expect(lines).toContain("POST /payouts host=127.0.0.1 idempotency-key=run_1/pay#1.1 -> 201");
  });
});
