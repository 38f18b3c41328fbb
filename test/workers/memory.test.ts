/**
 * Governed agent memory end to end in workerd: runs read and write a claimant's memory through
 * the `memory` node, every read and write is in the run's log with the exact facts, an address
 * change is seen by the runs before and after it and the as-of query reconstructs the old one,
 * a model inference contradicting a human fact becomes a conflict (or is denied by policy),
 * erasure leaves tombstones, and tenants never see each other's memory.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { auditStore } from "../../src/audit/audit-store.ts";
import { parseEvent } from "../../src/engine/events.ts";
import { replay } from "../../src/engine/replay.ts";
import { api, events, publish, settle, startRun, tokenFor } from "./helpers.ts";

const DAY = 86_400_000;

const rememberFlow = {
  id: "mem-remember",
  version: 1,
  input: { type: "object", required: ["claimant", "address", "since"] },
  start: "remember",
  memory: { attributes: { address: { freshFor: "30d", resolve: "newer_human_supersedes" } } },
  nodes: {
    remember: { kind: "memory", scope: "claimant-{{input.claimant}}", write: [{ subject: "{{input.claimant}}", attribute: "address", value: "{{input.address}}", source: "user_input", confidence: 0.9, validFrom: "{{input.since}}" }], next: "recall" },
    recall: { kind: "memory", scope: "claimant-{{input.claimant}}", read: { subject: "{{input.claimant}}", attributes: ["address"] }, next: "done" },
    done: { kind: "end", output: { address: "{{nodes.recall.output.values.address}}" } },
  },
};

const recallFlow = {
  id: "mem-recall",
  version: 1,
  input: { type: "object", required: ["claimant"] },
  start: "recall",
  nodes: {
    recall: { kind: "memory", scope: "claimant-{{input.claimant}}", read: { subject: "{{input.claimant}}", attributes: ["address"] }, next: "done" },
    done: { kind: "end", output: { address: "{{nodes.recall.output.values.address}}" } },
  },
};

const inferFlow = (id: string, policy?: unknown) => ({
  id,
  version: 1,
  input: { type: "object", required: ["claimant"] },
  provider: { kind: "scripted", script: "guess" },
  scripts: { guess: { turns: [{ text: '{"address": "9 Guess Street"}' }] } },
  start: "guess",
  nodes: {
    guess: { kind: "llm", model: "scripted", prompt: "Where does {{input.claimant}} live?", next: "remember" },
    remember: { kind: "memory", scope: "claimant-{{input.claimant}}", write: [{ subject: "{{input.claimant}}", attribute: "address", value: "{{nodes.guess.output.address}}", source: "model_inference", confidence: 0.4 }], next: "recall" },
    recall: { kind: "memory", scope: "claimant-{{input.claimant}}", read: { subject: "{{input.claimant}}", attributes: ["address"] }, next: "done" },
    done: { kind: "end", output: { address: "{{nodes.recall.output.values.address}}", contested: "{{nodes.recall.output.contested}}" } },
  },
  ...(policy ? { policy } : {}),
});

async function json<T = Record<string, unknown>>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

type Fact = { id: number; subject: string; attribute: string; value: unknown; status: string; provenance: Record<string, unknown>; validFrom: string; validTo: string | null; stale?: boolean };

/** A memory write in which a model inference contradicts a fact a person entered. */
const INFERENCE_OVER_HUMAN = "call.args.conflicts.exists(c, c.existing.sourceKind == 'human' && c.proposed.sourceKind == 'model_inference')";

describe("agent memory", () => {
  it("an address changes three weeks later: runs before and after see the right value, as-of returns the old one", async () => {
    const admin = await tokenFor("mem-a");
    await publish(admin, rememberFlow);
    await publish(admin, recallFlow);
    const since = new Date(Date.now() - 21 * DAY).toISOString();
    const run1 = await startRun(admin, "mem-remember", { claimant: "c-1", address: "1 Old Road", since });
    expect((await settle(admin, run1.id)).status).toBe("completed");
    const log1 = await events(admin, run1.id);
    const read1 = log1.find((e) => e.type === "memory.read" && e.data.op === "read")!;
    const written = log1.find((e) => e.type === "memory.written")!;
    // what run 1 believed at that step is in its own log: the exact facts, with provenance pointing at the writing event
    const started = log1.find((e) => e.type === "memory.started" && e.data.op === "write")!;
    const w = (written.data.result as { facts: Fact[] }).facts[0];
    expect(w.provenance).toMatchObject({ sourceKind: "user_input", confidence: 0.9, runId: run1.id, eventSeq: started.seq, node: "remember" });
    expect((read1.data.result as { facts: Fact[] }).facts.map((f) => f.value)).toEqual(["1 Old Road"]);
    expect((await json<{ output: unknown }>(await api(`/v1/runs/${run1.id}`, { token: admin }))).output).toEqual({ address: "1 Old Road" });
    // replay reproduces every decision from the log alone (the recorded memory results, no memory calls)
    const replayed = replay(log1.map((e, i) => parseEvent(e, `event ${i}`)));
    expect(replayed.ok && replayed.state.output).toEqual({ address: "1 Old Road" });

    // three weeks after moving in, a person enters the new address; the declared rule keeps both, each for its period
    await new Promise((r) => setTimeout(r, 5));
    const moved = new Date().toISOString();
    const entered = await json<{ facts: Fact[]; conflicts: Array<{ resolution: { kind: string; by: { kind: string; id: string } } }> }>(
      await api("/v1/memory/claimant-c-1/facts", { method: "POST", token: admin, json: { facts: [{ subject: "c-1", attribute: "address", value: "2 New Street", validFrom: moved, resolveRule: "newer_human_supersedes" }] } }),
      201,
    );
    expect(entered.conflicts[0].resolution).toEqual({ kind: "both_with_validity", by: { kind: "rule", id: "newer_human_supersedes" } });

    const run2 = await startRun(admin, "mem-recall", { claimant: "c-1" });
    expect((await settle(admin, run2.id)).status).toBe("completed");
    expect((await json<{ output: unknown }>(await api(`/v1/runs/${run2.id}`, { token: admin }))).output).toEqual({ address: "2 New Street" });

    // as of run 1's read, the memory held the old address
    const asOf = new Date(read1.at).toISOString();
    const then = await json<{ facts: Fact[] }>(await api(`/v1/memory/claimant-c-1?as_of=${encodeURIComponent(asOf)}`, { token: admin }));
    expect(then.facts.map((f) => f.value)).toEqual(["1 Old Road"]);
    const now = await json<{ facts: Fact[] }>(await api("/v1/memory/claimant-c-1", { token: admin }));
    expect(now.facts.map((f) => f.value)).toEqual(["2 New Street"]);
    // valid time: today's memory still knows where the claimant lived two weeks ago
    const past = await json<{ facts: Fact[] }>(await api(`/v1/memory/claimant-c-1?valid_at=${encodeURIComponent(new Date(Date.now() - 14 * DAY).toISOString())}`, { token: admin }));
    expect(past.facts.map((f) => [f.value, f.validTo])).toEqual([["1 Old Road", moved]]);
    const bad = await api("/v1/memory/claimant-c-1?as_of=yesterday", { token: admin });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
  });

  it("a model inference contradicting a human-entered fact raises a conflict instead of overwriting; a person resolves it", async () => {
    const admin = await tokenFor("mem-b");
    await publish(admin, inferFlow("mem-infer"));
    await json(await api("/v1/memory/claimant-c-2/facts", { method: "POST", token: admin, json: { facts: [{ subject: "c-2", attribute: "address", value: "1 Human Lane" }] } }), 201);
    const run = await startRun(admin, "mem-infer", { claimant: "c-2" });
    expect((await settle(admin, run.id)).status).toBe("completed");
    const out = (await json<{ output: { address: string; contested: Array<{ value: string }> } }>(await api(`/v1/runs/${run.id}`, { token: admin }))).output;
    expect(out.address).toBe("1 Human Lane");
    expect(out.contested.map((f) => f.value)).toEqual(["9 Guess Street"]);
    const log = await events(admin, run.id);
    const check = log.find((e) => e.type === "memory.read" && e.data.op === "check")!;
    expect((check.data.result as { facts: Fact[] }).facts.map((f) => f.value)).toEqual(["1 Human Lane"]);
    const decision = log.find((e) => e.type === "policy.decision" && e.data.action === "memory.write");
    expect(decision?.data.effect).toBe("allow");
    const conflict = log.find((e) => e.type === "memory.conflict")!;
    expect(conflict.data).toMatchObject({ scope: "claimant-c-2", existing: { value: "1 Human Lane", provenance: { sourceKind: "human" } }, proposed: { value: "9 Guess Street", status: "contested", provenance: { sourceKind: "model_inference", runId: run.id } } });
    const conflictId = (conflict.data.conflict as { id: number }).id;

    // surfaced across the tenant, and per scope with both facts
    const listed = await json<{ items: Array<{ scope: string; id: number; status: string }> }>(await api("/v1/memory/conflicts", { token: admin }));
    expect(listed.items).toContainEqual(expect.objectContaining({ scope: "claimant-c-2", id: conflictId, status: "open" }));
    const scoped = await json<{ items: Array<{ id: number; existing: Fact; proposed: Fact }> }>(await api("/v1/memory/conflicts?scope=claimant-c-2", { token: admin }));
    expect(scoped.items[0].proposed.value).toBe("9 Guess Street");

    // an auditor cannot resolve; an approver keeps the human fact
    const auditor = await tokenFor("mem-b", ["auditor"], "ann-auditor");
    expect((await api(`/v1/memory/claimant-c-2/conflicts/${conflictId}/resolve`, { method: "POST", token: auditor, json: { resolution: "keep_old" } })).status).toBe(403);
    const invalid = await api(`/v1/memory/claimant-c-2/conflicts/${conflictId}/resolve`, { method: "POST", token: admin, json: { resolution: "overwrite" } });
    expect(invalid.status).toBe(422);
    const approver = await tokenFor("mem-b", ["approver"], "sam-supervisor");
    const resolved = await json<{ conflict: { resolution: { kind: string; by: { id: string } } } }>(await api(`/v1/memory/claimant-c-2/conflicts/${conflictId}/resolve`, { method: "POST", token: approver, json: { resolution: "keep_old", note: "the claimant confirmed by phone" } }));
    expect(resolved.conflict.resolution).toMatchObject({ kind: "keep_old", by: { id: "sam-supervisor" } });
    expect((await api(`/v1/memory/claimant-c-2/conflicts/${conflictId}/resolve`, { method: "POST", token: approver, json: { resolution: "accept_new" } })).status).toBe(409);
    const open = await json<{ items: Array<{ id: number }> }>(await api("/v1/memory/conflicts?status=open", { token: admin }));
    expect(open.items.some((i) => i.id === conflictId)).toBe(false);
    const now = await json<{ facts: Fact[]; contested: Fact[] }>(await api("/v1/memory/claimant-c-2", { token: admin }));
    expect([now.facts.map((f) => f.value), now.contested]).toEqual([["1 Human Lane"], []]);
  });

  it("a policy can forbid model inferences from overwriting human-entered facts", async () => {
    const admin = await tokenFor("mem-c");
    const policy = {
      rules: [
        {
          id: "no-inference-over-human",
          on: ["memory.write"],
          when: INFERENCE_OVER_HUMAN,
          effect: "deny",
          reason: "A model inference may not contradict a fact a person entered.",
        },
      ],
    };
    await publish(admin, inferFlow("mem-guarded", policy));
    await json(await api("/v1/memory/claimant-c-3/facts", { method: "POST", token: admin, json: { facts: [{ subject: "c-3", attribute: "address", value: "1 Human Lane" }] } }), 201);
    const run = await startRun(admin, "mem-guarded", { claimant: "c-3" });
    const done = await settle(admin, run.id);
    expect(done.status).toBe("failed");
    const log = await events(admin, run.id);
    expect(log.find((e) => e.type === "policy.decision" && e.data.action === "memory.write")?.data).toMatchObject({ effect: "deny", rules: ["no-inference-over-human"] });
    expect(log.some((e) => e.type === "memory.started" && e.data.op === "write")).toBe(false);
    const conflicts = await json<{ items: unknown[] }>(await api("/v1/memory/conflicts?scope=claimant-c-3&status=all", { token: admin }));
    expect(conflicts.items).toEqual([]);
  });

  it("a policy can require a person's approval before a model inference contradicts a human-entered fact", async () => {
    const admin = await tokenFor("mem-w");
    const policy = {
      rules: [
        {
          id: "review-inference-over-human",
          on: ["memory.write"],
          when: INFERENCE_OVER_HUMAN,
          effect: "require_approval",
          approvers: { users: ["reviewer-2"] },
          reason: "A model inference contradicts a fact a person entered: a person must allow the write.",
        },
      ],
    };
    await publish(admin, inferFlow("mem-reviewed", policy));
    await json(await api("/v1/memory/claimant-c-7/facts", { method: "POST", token: admin, json: { facts: [{ subject: "c-7", attribute: "address", value: "7 Human Lane" }] } }), 201);
    const run = await startRun(admin, "mem-reviewed", { claimant: "c-7" });
    const waiting = await settle(admin, run.id, ["waiting", "completed", "failed"]);
    expect(waiting.status).toBe("waiting");
    let log = await events(admin, run.id);
    expect(log.some((e) => e.type === "memory.started" && e.data.op === "write")).toBe(false); // nothing written while it waits
    const reviewer = await tokenFor("mem-w", ["approver"], "reviewer-2");
    await json(await api(`/v1/approvals/${(waiting.waiting as { approvalId: string }).approvalId}/decision`, { method: "POST", token: reviewer, json: { decision: "approve" } }));
    const done = await settle(admin, run.id);
    expect(done.status).toBe("completed");
    expect(done.output).toMatchObject({ address: "7 Human Lane" }); // still a conflict, not an overwrite
    log = await events(admin, run.id);
    expect(log.filter((e) => e.type === "memory.conflict")).toHaveLength(1);
  });

  it("a stale fact is marked in the read and passes the policy gate: a person re-verifies it, or policy refuses it", async () => {
    const admin = await tokenFor("mem-s");
    const staleFlow = (id: string, effect: "require_approval" | "deny") => ({
      ...recallFlow,
      id,
      policy: { rules: [{ id: "reverify-stale", on: ["memory.read"], when: "size(call.args.stale) > 0", effect, reason: "The claimant's address is older than its freshness window: re-verify it.", ...(effect === "require_approval" ? { approvers: { users: ["reviewer-1"] } } : {}) }] },
    });
    await publish(admin, staleFlow("mem-stale-ask", "require_approval"));
    await publish(admin, staleFlow("mem-stale-deny", "deny"));
    await json(await api("/v1/memory/claimant-c-9/facts", { method: "POST", token: admin, json: { facts: [{ subject: "c-9", attribute: "address", value: "4 Old Road", freshForMs: 1 }] } }), 201);
    await new Promise((r) => setTimeout(r, 5));

    const asked = await startRun(admin, "mem-stale-ask", { claimant: "c-9" });
    const waiting = await settle(admin, asked.id, ["waiting", "completed", "failed"]);
    expect(waiting.status).toBe("waiting");
    let log = await events(admin, asked.id);
    expect(log.find((e) => e.type === "memory.read")?.data).toMatchObject({ result: { facts: [{ value: "4 Old Road", stale: true }] } });
    expect(log.find((e) => e.type === "policy.decision" && e.data.action === "memory.read")?.data).toMatchObject({ effect: "require_approval", rules: ["reverify-stale"] });
    const approvalId = (waiting.waiting as { approvalId: string }).approvalId;
    const reviewer = await tokenFor("mem-s", ["admin"], "reviewer-1"); // not the run's starter: separation of duties
    await json(await api(`/v1/approvals/${approvalId}/decision`, { method: "POST", token: reviewer, json: { decision: "approve", comment: "called the claimant: still at 4 Old Road" } }));
    const done = await settle(admin, asked.id);
    expect(done.status).toBe("completed");
    expect(done.output).toEqual({ address: "4 Old Road" });

    const denied = await startRun(admin, "mem-stale-deny", { claimant: "c-9" });
    const refused = await settle(admin, denied.id);
    expect(refused.status).toBe("failed");
    log = await events(admin, denied.id);
    expect(log.find((e) => e.type === "policy.decision" && e.data.action === "memory.read")?.data).toMatchObject({ effect: "deny" });
  });

  it("erasure removes the values and leaves tombstones with provenance; it is audited and needs an admin", async () => {
    const admin = await tokenFor("mem-d");
    const operator = await tokenFor("mem-d", ["operator"], "op-1");
    await json(await api("/v1/memory/claimant-c-4/facts", { method: "POST", token: operator, json: { facts: [{ subject: "c-4", attribute: "email", value: "jane@example.com" }, { subject: "c-4", attribute: "address", value: "1 Secret Road" }] } }), 201);
    const body = { subject: "c-4", reason: "GDPR art. 17 request 42" };
    expect((await api("/v1/memory/claimant-c-4/erasure", { method: "POST", token: operator, json: body })).status).toBe(403);
    const erased = await json<{ erased: number; tombstones: Array<Fact & { erased: boolean }> }>(await api("/v1/memory/claimant-c-4/erasure", { method: "POST", token: admin, json: body }));
    expect(erased.erased).toBe(2);
    expect(erased.tombstones.every((f) => f.erased && f.value === null && f.provenance.actor === "op-1" && f.provenance.sourceKind === "human")).toBe(true);
    const now = await json<{ facts: Fact[] }>(await api("/v1/memory/claimant-c-4", { token: admin }));
    expect(now.facts).toEqual([]);
    const before = await json<{ facts: Array<Fact & { erased: boolean }> }>(await api(`/v1/memory/claimant-c-4?as_of=${encodeURIComponent(new Date(Date.now() - 1).toISOString())}&valid_at=any`, { token: admin }));
    expect(JSON.stringify(before)).not.toContain("Secret");

    // the scope's own audit stream: the write, then the erasure, chained, the email redacted, the erasure without values
    const mem = env.AGENT_MEMORY.get(env.AGENT_MEMORY.idFromName("mem-d:claimant-c-4"));
    for (let i = 0; i < 100 && (await mem.auditBacklog()).pending > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await mem.auditBacklog()).pending).toBe(0);
    const trail = await auditStore(env).streamEntries("mem-d", "memory:mem-d:claimant-c-4", 0, 100);
    expect(trail.map((e) => [e.seq, e.type, e.actor])).toEqual([
      [1, "memory.written", { kind: "user", id: "op-1" }],
      [2, "memory.erased", { kind: "user", id: "user-mem-d" }],
    ]);
    expect(trail[1].prevHash).toBe(trail[0].hash);
    expect(JSON.stringify(trail[0].payload)).not.toContain("jane@example.com");
    expect(trail[0].redactions.map((r) => r.kind)).toEqual(["email"]);
    expect(JSON.stringify(trail[1].payload)).not.toContain("Secret");
  });

  it("tenants never see each other's memory", async () => {
    const a = await tokenFor("mem-e");
    const b = await tokenFor("mem-f");
    await json(await api("/v1/memory/claimant-shared/facts", { method: "POST", token: a, json: { facts: [{ subject: "x", attribute: "address", value: "A's secret" }, { subject: "x", attribute: "address", value: "A's other", sourceKind: "model_inference" }] } }), 201);
    const seen = await json<{ facts: Fact[]; contested: Fact[] }>(await api("/v1/memory/claimant-shared", { token: b }));
    expect([seen.facts, seen.contested]).toEqual([[], []]);
    expect((await json<{ items: unknown[] }>(await api("/v1/memory/conflicts", { token: b }))).items).toEqual([]);
    expect((await api("/v1/memory/claimant-shared/conflicts/1/resolve", { method: "POST", token: b, json: { resolution: "accept_new" } })).status).toBe(404);
    expect((await json<{ facts: Fact[] }>(await api("/v1/memory/claimant-shared", { token: a }))).facts.map((f) => f.value)).toEqual(["A's secret"]);
  });
});
