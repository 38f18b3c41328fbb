/**
 * The audit trail end to end, against a real sqld: every run event becomes a chained, redacted
 * entry in libSQL; reads are audited; tenants see only their own trail; the audit database can
 * go away mid-stream and every entry still arrives exactly once, in order; a run object killed
 * between shipping and acknowledging leaves no duplicate; the cron seals heads and purges only
 * what retention and legal holds allow.
 */
import { createExecutionContext, createScheduledController, env, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { entryHash, extendChain, EMPTY_HEAD, GENESIS_HASH, type AuditEntry } from "../../src/audit/audit-entry.ts";
import { auditStore } from "../../src/audit/audit-store.ts";
import { checkSignature, sealStatement } from "../../src/audit/seal.ts";
import { runIdForKey } from "../../src/api/run-ids.ts";
import { registryStub } from "../../src/api/stubs.ts";
import { api, echoFlow, events, publish, runRpc, runStubFor, settle, startRun, tokenFor } from "./helpers.ts";

async function auditOf(token: string, run: string): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  let cursor: string | null = null;
  do {
    const res = await api(`/v1/audit?run=${run}&limit=200${cursor ? `&cursor=${cursor}` : ""}`, { token });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { entries: AuditEntry[]; next: string | null };
    out.push(...page.entries);
    cursor = page.next;
  } while (cursor);
  return out.filter((e) => e.stream === `run:${run}`);
}

/** Fires the run's alarm until its audit outbox is empty. */
async function drained(runId: string, rounds = 100) {
  for (let i = 0; i < rounds; i++) {
    try {
      const b = await runRpc(runId).auditBacklog();
      if (b.pending === 0) return;
      await runDurableObjectAlarm(runStubFor(runId));
    } catch {
      /* an injected crash: the next round retries */
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`audit outbox of ${runId} did not drain: ${JSON.stringify(await runRpc(runId).auditBacklog())}`);
}

async function tenantDrained(tenant: string) {
  const stub = registryStub(env, tenant);
  for (let i = 0; i < 100; i++) {
    if ((await stub.auditBacklog()).pending === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`tenant ${tenant} audit outbox did not drain`);
}

function expectChain(entries: AuditEntry[]) {
  let prev = GENESIS_HASH;
  entries.forEach((e, i) => {
    expect(e.seq).toBe(i + 1);
    expect(e.prevHash).toBe(prev);
    expect(entryHash(e)).toBe(e.hash);
    prev = e.hash;
  });
}

async function cron() {
  const ctx = createExecutionContext();
  await worker.scheduled!(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env);
  await waitOnExecutionContext(ctx);
}

async function sqld(action: "stop" | "start") {
  const res = await fetch(`${env.SQLD_CONTROL_URL}/${action}`, { method: "POST" });
  expect(res.status).toBe(200);
}

describe("audit trail", () => {
  it("writes one chained, redacted entry per run event, with actor, workflow hash and policy hash", async () => {
    const admin = await tokenFor("aud-a");
    const auditor = await tokenFor("aud-a", ["auditor"], "carol-auditor");
    const wf = await publish(admin, echoFlow("aud-flow", { policy: { redact: { fields: ["input.diagnosis"] } }, input: { type: "object", required: ["name"], properties: { name: { type: "string" }, diagnosis: { type: "string" } } } }));
    const run = await startRun(admin, "aud-flow", { name: "alice.smith@example.com", diagnosis: "fractured wrist" });
    await settle(admin, run.id);
    await drained(run.id);
    const log = await events(admin, run.id);
    const trail = await auditOf(auditor, run.id);

    expect(trail.map((e) => e.type)).toEqual(log.map((e) => e.type));
    expect(trail.map((e) => (e.payload as { eventSeq: number }).eventSeq)).toEqual(log.map((e) => e.seq));
    expectChain(trail);
    expect(trail.every((e) => e.tenant === "aud-a" && e.runId === run.id && e.workflow?.hash === wf.hash)).toBe(true);
    const started = trail[0];
    expect(started.actor).toEqual({ kind: "user", id: "user-aud-a" });
    expect(trail.at(-1)!.actor.kind).toBe("system");
    expect(trail.at(-1)!.policyHash).toMatch(/^sha256:/);
    // redacted before it was written: the value is nowhere in the trail, the redaction is noted
    const text = JSON.stringify(trail);
    expect(text).not.toContain("alice.smith@example.com");
    expect(text).not.toContain("fractured wrist");
    expect(started.redactions).toEqual(expect.arrayContaining([{ kind: "email", path: "input.name" }, { kind: "field", path: "input.diagnosis" }]));
    // retention: the 183-day default
    expect(started.retainUntil - started.at).toBe(183 * 86_400_000);
  });

  it("audits reads, and a tenant sees only its own trail", async () => {
    const admin = await tokenFor("aud-b");
    await publish(admin, echoFlow("aud-read"));
    const run = await startRun(admin, "aud-read", { name: "bob" });
    await settle(admin, run.id);
    await drained(run.id);
    const reader = await tokenFor("aud-b", ["operator"], "dave-reader");
    expect((await api(`/v1/runs/${run.id}`, { token: reader })).status).toBe(200);
    expect((await api(`/v1/runs/${run.id}/events`, { token: reader })).status).toBe(200);
    // operators may not read the audit trail; auditors may
    expect((await api(`/v1/audit?run=${run.id}`, { token: reader })).status).toBe(403);
    const auditor = await tokenFor("aud-b", ["auditor"], "erin-auditor");
    expect((await api(`/v1/audit?run=${run.id}`, { token: auditor })).status).toBe(200);
    await tenantDrained("aud-b");
    const res = await api(`/v1/audit?stream=tenant:aud-b&type=read.*&limit=1000`, { token: auditor });
    const reads = ((await res.json()) as { entries: AuditEntry[] }).entries;
    const who = reads.map((e) => `${e.actor.id} ${e.type} ${e.runId}`);
    expect(who).toEqual(expect.arrayContaining([`dave-reader read.run ${run.id}`, `dave-reader read.run_events ${run.id}`, `erin-auditor read.audit ${run.id}`]));
    expectChain((await auditStore(env).streamEntries("aud-b", "tenant:aud-b", 0, 10_000)));

    // another tenant's auditor: nothing of aud-b's, and asking for it by name is refused
    const other = await tokenFor("aud-other", ["auditor"]);
    const theirs = (await (await api(`/v1/audit?run=${run.id}`, { token: other })).json()) as { entries: unknown[] };
    expect(theirs.entries).toEqual([]);
    expect((await api(`/v1/audit?tenant=aud-b`, { token: other })).status).toBe(403);
    // the deployment's own trail (global policy changes) is for the platform tenant only
    expect((await api(`/v1/audit?tenant=__global__`, { token: auditor })).status).toBe(403);
    const platformAdmin = await tokenFor("platform", ["admin"], "root@platform");
    expect((await api("/v1/policies/global", { method: "PUT", token: platformAdmin, json: { policy: { tools: { deny: ["legacy.shell.*"] } }, reason: "no legacy shells anywhere" } })).status).toBeLessThan(300);
    await tenantDrained("__global__");
    const global = (await (await api(`/v1/audit?tenant=__global__&type=policy.changed`, { token: await tokenFor("platform", ["auditor"]) })).json()) as { entries: AuditEntry[] };
    expect(global.entries.map((e) => `${e.actor.id} ${(e.payload as { reason: string }).reason}`)).toContain("root@platform no legacy shells anywhere");
    const bad = await api(`/v1/audit?from=yesterday`, { token: auditor });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
  });

  it("loses nothing and doubles nothing when the audit database stops mid-stream", async () => {
    const admin = await tokenFor("aud-c");
    await publish(admin, echoFlow("aud-fault"));
    const before = await startRun(admin, "aud-fault", { name: "first" });
    await sqld("stop");
    let runs: string[] = [];
    try {
      runs = [before.id];
      for (let i = 0; i < 6; i++) runs.push((await startRun(admin, "aud-fault", { name: `n${i}` })).id);
      for (const id of runs) await settle(admin, id);
      // the runs completed; their entries wait in the outboxes, backing off
      const backlogs = await Promise.all(runs.map((id) => runRpc(id).auditBacklog()));
      expect(backlogs.some((b) => b.pending > 0 && b.attempts > 0)).toBe(true);
    } finally {
      await sqld("start");
    }
    for (const id of runs) await drained(id);
    // shipped: every outbox's backoff is back to nothing (the next entry ships at once)
    for (const id of runs) expect(await runRpc(id).auditBacklog()).toEqual({ pending: 0, attempts: 0, nextAt: 0, lastError: null });
    const auditor = await tokenFor("aud-c", ["auditor"]);
    for (const id of runs) {
      const trail = await auditOf(auditor, id);
      const log = await events(admin, id);
      expect(trail.length).toBe(log.length);
      expectChain(trail);
    }
  });

  it("leaves no duplicate when the run dies between shipping a batch and acknowledging it", async () => {
    const admin = await tokenFor("aud-d");
    await publish(admin, echoFlow("aud-kill"));
    const key = "kill-between-ship-and-ack";
    const runId = await runIdForKey("aud-d", key);
    await runRpc(runId).injectFault({ at: "after-audit-ship", seq: 1, how: "abort" });
    await startRun(admin, "aud-kill", { name: "k" }, { "idempotency-key": key }).catch(() => undefined);
    await settle(admin, runId);
    await drained(runId);
    const store = auditStore(env);
    const rows = await store.client.execute({ sql: `SELECT COUNT(*) AS n, COUNT(DISTINCT seq) AS d FROM audit_entries WHERE stream = ?`, args: [`run:${runId}`] });
    const log = await events(admin, runId);
    expect(Number(rows.rows[0].n)).toBe(log.length);
    expect(Number(rows.rows[0].d)).toBe(log.length);
    expectChain(await store.streamEntries("aud-d", `run:${runId}`, 0, 1000));
  });

  it("seals chain heads on the cron, publishes the key, and exports entries with their seals", async () => {
    const admin = await tokenFor("aud-e");
    await publish(admin, echoFlow("aud-seal"));
    const run = await startRun(admin, "aud-seal", { name: "s" });
    await settle(admin, run.id);
    await drained(run.id);
    await cron();
    const keyRes = await api("/.well-known/warden-audit-key");
    const { keys } = (await keyRes.json()) as { keys: Array<JsonWebKey & { kid: string }> };
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toHaveProperty("d");
    const auditor = await tokenFor("aud-e", ["auditor"]);
    const res = await api(`/v1/audit/export?run=${run.id}`, { token: auditor });
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l) as { kind: string } & Record<string, unknown>);
    expect(lines[0].kind).toBe("key");
    const entries = lines.filter((l) => l.kind === "entry") as unknown as AuditEntry[];
    expectChain(entries);
    const seals = lines.filter((l) => l.kind === "seal") as unknown as Array<{ tenant: string; stream: string; seq: number; hash: string; sealedAt: number; jws: string }>;
    expect(seals).toHaveLength(1);
    expect(seals[0].seq).toBe(entries.length);
    expect(seals[0].hash).toBe(entries.at(-1)!.hash);
    expect(await checkSignature(keys[0], seals[0].jws, sealStatement(seals[0]))).toBeNull();
    expect(await checkSignature(keys[0], seals[0].jws, sealStatement({ ...seals[0], hash: GENESIS_HASH }))).toMatch(/hash/);
  });

  it("purges only entries past retention, never under a legal hold, and leaves a signed purge record", async () => {
    const store = auditStore(env);
    const tenant = "aud-f";
    const stream = "run:run_aud_f_old";
    const long = Date.now() - 400 * 86_400_000;
    const records = Array.from({ length: 6 }, (_, i) => ({ tenant, stream, at: long + i, runId: "run_aud_f_old", workflow: { id: "old", version: 1, hash: "h" }, actor: { kind: "system" as const, id: "warden" }, type: "node.completed", payload: { i }, policyHash: null, redactions: [], retainUntil: i < 4 ? long + 183 * 86_400_000 : Date.now() + 86_400_000 }));
    const { entries } = extendChain(EMPTY_HEAD, records);
    await store.insertEntries(entries);
    // the database refuses a delete that is not a recorded purge, even of an expired row
    await expect(store.client.execute({ sql: `DELETE FROM audit_entries WHERE stream = ? AND seq = 1`, args: [stream] })).rejects.toThrow(/append-only/);
    await expect(store.client.execute({ sql: `UPDATE audit_entries SET payload = '{}' WHERE stream = ?`, args: [stream] })).rejects.toThrow(/append-only/);

    const legal = await tokenFor(tenant, ["auditor"], "lee-legal");
    const placed = await api("/v1/holds", { method: "POST", token: legal, json: { scope: "run", id: "run_aud_f_old", reason: "litigation 2026-114" } });
    expect(placed.status).toBe(201);
    const hold = (await placed.json()) as { id: string };
    await cron();
    expect((await store.streamEntries(tenant, stream, 0, 100)).length).toBe(6);

    const released = await api(`/v1/holds/${hold.id}/release`, { method: "POST", token: legal, json: { reason: "settled" } });
    expect(released.status).toBe(200);
    await cron();
    const left = await store.streamEntries(tenant, stream, 0, 100);
    expect(left.map((e) => e.seq)).toEqual([5, 6]);
    const [purge] = await store.purges(tenant, stream);
    expect(purge).toMatchObject({ fromSeq: 1, toSeq: 4, count: 4, lastHash: entries[3].hash });
    expect(left[0].prevHash).toBe(purge.lastHash);
    // both hold acts are in the tenant's own trail
    await tenantDrained(tenant);
    const acts = (await store.streamEntries(tenant, `tenant:${tenant}`, 0, 100)).map((e) => `${e.type} ${e.actor.id}`);
    expect(acts).toEqual(expect.arrayContaining(["hold.placed lee-legal", "hold.released lee-legal"]));
  });

  it("answers the five audit questions for a reviewed run on one evidence page", async () => {
    const tenant = "aud-g";
    const admin = await tokenFor(tenant);
    expect((await api("/v1/directory", { method: "PUT", token: admin, json: { users: [{ id: "sam", email: "sam@aud-g.test", roles: ["claims-supervisor"] }] } })).status).toBe(200);
    await publish(admin, {
      id: "aud-review",
      version: 1,
      input: { type: "object", required: ["claimId"], properties: { claimId: { type: "string" }, email: { type: "string" }, notes: { type: "string" } } },
      // redacted fields stay redacted in what the approver is shown
      policy: { redact: { builtin: ["email"], fields: ["input.notes"] } },
      start: "review",
      nodes: {
        review: { kind: "approval", approvers: { roles: ["claims-supervisor"] }, context: "Claim {{input.claimId}} from {{input.email}}, notes: {{input.notes}}", onApprove: "paid", onReject: "denied" },
        paid: { kind: "end", output: { status: "paid" } },
        denied: { kind: "end", output: { status: "denied" } },
      },
    });
    const run = await startRun(admin, "aud-review", { claimId: "C-77", email: "claimant@example.org", notes: "prior psychiatric treatment" });
    const waiting = await settle(admin, run.id, ["waiting"]);
    const approvalId = (waiting.waiting as { approvalId: string }).approvalId;
    const sam = await tokenFor(tenant, ["approver"], "sam");
    const shown = (await (await api(`/v1/approvals/${approvalId}`, { token: sam })).json()) as { context: string };
    expect(shown.context).toBe("Claim C-77 from [REDACTED:email], notes: [REDACTED:field]");
    expect((await api(`/v1/approvals/${approvalId}/decision`, { method: "POST", token: sam, json: { decision: "approve", comment: "documents check out" } })).status).toBe(200);
    await settle(admin, run.id);
    await drained(run.id);
    await cron();
    const auditor = await tokenFor(tenant, ["auditor"], "ivy-auditor");
    const res = await api(`/v1/runs/${run.id}/evidence`, { token: auditor });
    expect(res.status).toBe(200);
    const r = (await res.json()) as {
      integrity: { ok: boolean; entries: number; seals: number; sealedThrough: number; problems: unknown[]; pendingShipment: number };
      replay: { exact: boolean };
      whatHappened: { steps: Array<{ type: string; detail: string }> };
      guardrails: { policySets: unknown[] };
      humanReview: { reviewed: boolean; approvals: Array<{ outcome: string; decisions: Array<{ by: string; decision: string; via: string }> }> };
      retention: { retainUntil: { earliest: string }; holds: unknown[]; reads: Array<{ by: string; what: string }> };
    };
    expect(r.integrity).toMatchObject({ ok: true, problems: [], pendingShipment: 0 });
    expect(r.integrity.sealedThrough).toBe(r.integrity.entries);
    expect(r.replay.exact).toBe(true);
    expect(r.whatHappened.steps.map((s) => s.type)).toEqual(expect.arrayContaining(["run.started", "approval.decided", "run.completed"]));
    expect(JSON.stringify(r)).not.toContain("claimant@example.org");
    expect(r.guardrails.policySets).toHaveLength(1);
    expect(r.humanReview.reviewed).toBe(true);
    expect(r.humanReview.approvals[0]).toMatchObject({ outcome: "approved", decisions: [{ by: "sam", decision: "approve", via: "api" }] });
    expect(Date.parse(r.retention.retainUntil.earliest)).toBeGreaterThan(Date.now() + 180 * 86_400_000);
    // the report itself is a read, recorded before the answer; a second look sees the first
    const again = (await (await api(`/v1/runs/${run.id}/evidence`, { token: auditor })).json()) as typeof r;
    await tenantDrained(tenant);
    const third = (await (await api(`/v1/runs/${run.id}/evidence`, { token: auditor })).json()) as typeof r;
    expect(third.retention.reads.filter((x) => x.by === "ivy-auditor" && x.what === "evidence").length).toBeGreaterThanOrEqual(2);
    expect(again.integrity.ok).toBe(true);
    const html = await api(`/v1/runs/${run.id}/evidence?format=html`, { token: auditor });
    expect(html.headers.get("content-type")).toContain("text/html");
    const page = await html.text();
    for (const q of ["1. What did the agent see, decide and do?", "2. Can we replay it exactly?", "3. Were the guardrails in force?", "4. Did a human review it?", "5. How long is the data kept, and who read it?"]) expect(page).toContain(q);
    expect(page).toContain("sam: approve via api");
    // operators may not see the evidence report
    expect((await api(`/v1/runs/${run.id}/evidence`, { token: await tokenFor(tenant, ["operator"]) })).status).toBe(403);
  });
});
