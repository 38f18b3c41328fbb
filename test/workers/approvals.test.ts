/**
 * Durable human approvals end to end in workerd: email through real SMTP to MailDev, the
 * signed link (GET shows, only POST decides, one use), the API inbox and decisions, quorum,
 * separation of duties, escalation and timeout on backdated alarms, crash between decision and
 * resumption, and two approvers deciding at the same instant.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { mintApprovalLink } from "../../src/approvals/approval-link.ts";
import { runIdForKey } from "../../src/api/run-ids.ts";
import { api, events, getRun, publish, runRpc, runStubFor, settle, startRun, tokenFor } from "./helpers.ts";

const TENANT = "insure";
const directory = {
  users: [
    { id: "sam", email: "sam@insure.test", roles: ["claims-supervisor"] },
    { id: "tess", email: "tess@insure.test", roles: ["claims-supervisor"] },
    { id: "olga", email: "olga@insure.test", roles: ["claims-supervisor", "claims-clerk"] },
    { id: "mia", email: "mia@insure.test", roles: ["claims-manager"] },
    { id: "carl", email: "carl@insure.test", roles: ["claims-clerk"] },
  ],
};

function reviewFlow(id: string, review: Record<string, unknown> = {}) {
  return {
    id,
    version: 1,
    input: { type: "object", required: ["claimId"], properties: { claimId: { type: "string" }, amount: { type: "number" } } },
    start: "review",
    nodes: {
      review: {
        kind: "approval",
        approvers: { roles: ["claims-supervisor"], quorum: 2 },
        context: "Claim {{input.claimId}} for {{input.amount}} EUR",
        escalate: [{ after: "4h", to: { roles: ["claims-manager"] } }],
        timeout: { after: "3d", outcome: "reject" },
        onApprove: "paid",
        onReject: "denied",
        ...review,
      },
      paid: { kind: "end", output: { status: "paid" } },
      denied: { kind: "end", output: { status: "denied" } },
    },
  };
}

interface Mail {
  id: string;
  subject: string;
  text: string;
  to: Array<{ address: string }>;
}

async function mailsFor(runId: string, min: number, timeoutMs = 8000): Promise<Mail[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = (await (await fetch(`${env.MAILDEV_URL}/api/email`)).json()) as Mail[];
    const mine = all.filter((m) => m.text?.includes(runId));
    if (mine.length >= min || Date.now() > deadline) return mine;
    await runDurableObjectAlarm(runStubFor(runId)).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the notifications are recorded and the log stops growing, so the next event's seq is known. */
async function quiet(token: string, runId: string) {
  let last = -1;
  for (let i = 0; i < 200; i++) {
    const log = await events(token, runId);
    if (log.some((e) => e.type === "approval.notified") && log.length === last) return;
    last = log.length;
    await runDurableObjectAlarm(runStubFor(runId)).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error(`run ${runId} did not quieten`);
}

function linkPath(mail: Mail): string {
  const url = /(http:\/\/warden\.test\/approvals\/link\/\S+)/.exec(mail.text)![1];
  return new URL(url).pathname;
}

async function waitingRun(starter: string, wf: string, claimId: string, key?: string) {
  const token = await tokenFor(TENANT, ["admin", "operator"], starter);
  const run = await startRun(token, wf, { claimId, amount: 25_000 }, key ? { "idempotency-key": key } : {});
  const r = await settle(token, run.id, ["waiting"]);
  return { token, runId: run.id, approvalId: (r.waiting as { approvalId: string }).approvalId };
}

async function decideAs(sub: string, approvalId: string, decision: "approve" | "reject", comment?: string) {
  const t = await tokenFor(TENANT, ["approver"], sub);
  return api(`/v1/approvals/${approvalId}/decision`, { method: "POST", token: t, json: { decision, ...(comment ? { comment } : {}) } });
}

async function backdate(runId: string, timerPrefix: string) {
  await runInDurableObject(runStubFor(runId), (_instance, state: DurableObjectState) => {
    state.storage.sql.exec(`UPDATE timers SET due_at = ? WHERE id LIKE ?`, Date.now() - 1, `${timerPrefix}%`);
  });
  await runDurableObjectAlarm(runStubFor(runId));
}

beforeAll(async () => {
  const admin = await tokenFor(TENANT, ["admin"], "root");
  const res = await api("/v1/directory", { method: "PUT", token: admin, json: directory });
  expect(res.status).toBe(200);
  await publish(admin, reviewFlow("review-2"));
  await publish(admin, reviewFlow("review-1", { approvers: { roles: ["claims-supervisor"], quorum: 1 } }));
  await publish(admin, reviewFlow("review-fail", { escalate: [], timeout: { after: "1d", outcome: "fail" } }));
});

describe("approval by email link and API", () => {
  it("mails every approver a signed link; GET shows and decides nothing; POST decides once; quorum of two resumes the run", async () => {
    const { token, runId, approvalId } = await waitingRun("carl", "review-2", "C-100");
    const mails = await mailsFor(runId, 3);
    expect(mails.map((m) => m.to[0].address).sort()).toEqual(["olga@insure.test", "sam@insure.test", "tess@insure.test"]);
    expect(mails[0].subject).toMatch(/Approval needed/);
    expect(mails[0].text).toContain("Claim C-100 for 25000 EUR");
    const samMail = mails.find((m) => m.to[0].address === "sam@insure.test")!;
    const page = await api(linkPath(samMail));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Claim C-100 for 25000 EUR");
    expect(html).toContain('name="decision" value="approve"');
    expect((await getRun(token, runId)).status).toBe("waiting"); // a prefetch decides nothing
    const post = await api(linkPath(samMail), { method: "POST", body: new URLSearchParams({ decision: "approve", comment: "looks right" }), headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(post.status).toBe(200);
    expect(await post.text()).toContain("Decision recorded");
    const reuse = await api(linkPath(samMail), { method: "POST", body: new URLSearchParams({ decision: "reject" }), headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(reuse.status).toBe(409);
    expect(await reuse.text()).toMatch(/already been used/);
    expect((await getRun(token, runId)).status).toBe("waiting"); // one of two
    const second = await decideAs("tess", approvalId, "approve", "agreed");
    expect(second.status).toBe(200);
    expect(((await second.json()) as { status: string }).status).toBe("approved"); // the decision that completes the quorum says so
    const done = await settle(token, runId);
    expect(done.output).toEqual({ status: "paid" });
    const log = await events(token, runId);
    const types = log.map((e) => e.type);
    for (const t of ["approval.requested", "approval.notified", "approval.viewed", "approval.decided", "approval.resolved"]) expect(types).toContain(t);
    const decisions = log.filter((e) => e.type === "approval.decided").map((e) => ({ by: e.data.by, via: e.data.via, comment: e.data.comment }));
    expect(log.find((e) => e.type === "approval.decided")!.data.roles).toEqual(["claims-supervisor"]); // a link decision records the directory roles too
    expect(decisions).toEqual([
      { by: "sam", via: "link", comment: "looks right" },
      { by: "tess", via: "api", comment: "agreed" },
    ]);
    expect(log.find((e) => e.type === "approval.viewed")!.data).toMatchObject({ by: "sam", via: "link" });
  });

  it("counts the same person once, refuses the run's starter and non-approvers", async () => {
    const { token, runId, approvalId } = await waitingRun("olga", "review-2", "C-101");
    const starter = await decideAs("olga", approvalId, "approve");
    expect(starter.status).toBe(403);
    expect(((await starter.json()) as { detail: string }).detail).toMatch(/separation of duties/);
    expect((await decideAs("carl", approvalId, "approve")).status).toBe(403);
    expect((await decideAs("sam", approvalId, "approve")).status).toBe(200);
    const twice = await decideAs("sam", approvalId, "approve");
    expect(twice.status).toBe(409);
    expect(((await twice.json()) as { detail: string }).detail).toMatch(/counts once/);
    await runDurableObjectAlarm(runStubFor(runId)).catch(() => undefined);
    expect((await getRun(token, runId)).status).toBe("waiting");
    const log = await events(token, runId);
    expect(log.filter((e) => e.type === "approval.decided")).toHaveLength(1);
  });

  it("shows pending approvals in the inbox of those who may decide them, not the starter's", async () => {
    const { approvalId } = await waitingRun("carl", "review-2", "C-102");
    const inbox = async (sub: string, roles: Array<"approver" | "admin" | "auditor"> = ["approver"]) =>
      ((await (await api("/v1/approvals?status=pending", { token: await tokenFor(TENANT, roles, sub) })).json()) as { items: Array<{ approvalId: string }> }).items.map((i) => i.approvalId);
    for (let i = 0; i < 50 && !(await inbox("sam")).includes(approvalId); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await inbox("sam")).toContain(approvalId);
    expect(await inbox("carl")).not.toContain(approvalId);
    expect(await inbox("mia")).not.toContain(approvalId); // not escalated yet
    const other = await tokenFor("another-tenant", ["approver"], "sam");
    expect(((await (await api("/v1/approvals?status=pending", { token: other })).json()) as { items: unknown[] }).items).toEqual([]);
    expect((await api(`/v1/approvals/${approvalId}`, { token: other })).status).toBe(404);
  });

  it("rejects forged, expired, wrong-audience and foreign links with an error page and changes nothing", async () => {
    const { token, runId, approvalId } = await waitingRun("carl", "review-1", "C-103");
    const forged = await new SignJWT({ run: runId, approval: approvalId }).setProtectedHeader({ alg: "HS256" }).setSubject("sam").setJti("abcdefgh12345678").setIssuer("warden").setAudience("warden-approval-link").setExpirationTime("1h").sign(new TextEncoder().encode("approval-link:not-the-secret-not-the-secret-xx"));
    const expired = await mintApprovalLink({ sub: "sam", run: runId, approval: approvalId }, env.WARDEN_JWT_SECRET, 60, Date.now() - 3_600_000);
    const apiToken = await tokenFor(TENANT, ["admin"], "sam");
    const outsider = await mintApprovalLink({ sub: "carl", run: runId, approval: approvalId }, env.WARDEN_JWT_SECRET, 600);
    const form = { method: "POST", body: new URLSearchParams({ decision: "approve" }), headers: { "content-type": "application/x-www-form-urlencoded" } };
    expect((await api(`/approvals/link/${forged}`, form)).status).toBe(401);
    const exp = await api(`/approvals/link/${expired}`, form);
    expect(exp.status).toBe(410);
    expect(await exp.text()).toMatch(/expired/);
    expect((await api(`/approvals/link/${apiToken}`, form)).status).toBe(401);
    expect((await api(`/approvals/link/${outsider}`, form)).status).toBe(403);
    expect((await getRun(token, runId)).status).toBe("waiting");
    expect((await events(token, runId)).filter((e) => e.type === "approval.decided")).toHaveLength(0);
  });
});

describe("escalation, timeout, operators", () => {
  it("escalates to the next level only when its time comes, and that level may then decide", async () => {
    const { token, runId, approvalId } = await waitingRun("carl", "review-1", "C-200");
    await mailsFor(runId, 3);
    const scheduled = (await events(token, runId)).find((e) => e.type === "timer.scheduled" && e.data.purpose === "escalate")!;
    const requested = (await events(token, runId)).find((e) => e.type === "approval.requested")!;
    expect((scheduled.data.fireAt as number) - requested.at).toBe(4 * 3_600_000);
    await runDurableObjectAlarm(runStubFor(runId)); // firing early changes nothing
    expect((await events(token, runId)).some((e) => e.type === "approval.escalated")).toBe(false);
    expect((await decideAs("mia", approvalId, "approve")).status).toBe(403);
    await backdate(runId, "escalate:");
    const log = await events(token, runId);
    expect(log.find((e) => e.type === "approval.escalated")!.data).toMatchObject({ level: 1 });
    const managerMail = (await mailsFor(runId, 4)).find((m) => m.to[0].address === "mia@insure.test");
    expect(managerMail?.subject).toMatch(/escalated/);
    expect((await decideAs("mia", approvalId, "approve")).status).toBe(200);
    expect((await settle(token, runId)).output).toEqual({ status: "paid" });
  });

  it("times out with the declared outcome: reject routes on, fail fails the run", async () => {
    const a = await waitingRun("carl", "review-1", "C-201");
    await backdate(a.runId, "escalate:");
    await backdate(a.runId, "timeout:");
    const done = await settle(a.token, a.runId);
    expect(done.output).toEqual({ status: "denied" });
    expect((await events(a.token, a.runId)).find((e) => e.type === "approval.resolved")!.data).toMatchObject({ outcome: "expired", effect: "reject" });
    const b = await waitingRun("carl", "review-fail", "C-202");
    await backdate(b.runId, "timeout:");
    const failed = await settle(b.token, b.runId);
    expect(failed.status).toBe("failed");
    expect((failed.error as { message: string }).message).toMatch(/timed out/);
  });

  it("an operator reassigns (new approvers are mailed) or cancels, recorded with the actor", async () => {
    const { token, runId, approvalId } = await waitingRun("carl", "review-1", "C-203");
    const ops = await tokenFor(TENANT, ["operator"], "otto");
    const re = await api(`/v1/approvals/${approvalId}/reassign`, { method: "POST", token: ops, json: { to: { users: ["mia"] }, reason: "supervisors on leave" } });
    expect(re.status).toBe(200);
    expect((await decideAs("sam", approvalId, "approve")).status).toBe(403);
    expect((await mailsFor(runId, 4)).some((m) => m.to[0].address === "mia@insure.test")).toBe(true);
    const cancel = await api(`/v1/approvals/${approvalId}/cancel`, { method: "POST", token: ops, json: { reason: "claim withdrawn" } });
    expect(cancel.status).toBe(200);
    expect((await settle(token, runId)).output).toEqual({ status: "denied" });
    const log = await events(token, runId);
    expect(log.find((e) => e.type === "approval.reassigned")!.data).toMatchObject({ actor: { sub: "otto" }, to: { users: ["mia"] } });
    expect(log.find((e) => e.type === "approval.cancelled")!.data).toMatchObject({ actor: { sub: "otto" } });
  });
});

describe("approvals under crashes and races", () => {
  it("a crash between the decision being recorded and the run resuming resumes exactly once", async () => {
    const admin = await tokenFor(TENANT, ["admin"], "carl");
    const key = "crash-approval-1";
    const runId = await runIdForKey(TENANT, key);
    const { approvalId } = await waitingRun("carl", "review-1", "C-300", key);
    await quiet(admin, runId);
    const decisionSeq = (await events(admin, runId)).length + 1;
    // die while resuming: right after the transaction that resolves the approval
    await runRpc(runId).injectFault({ at: "after-append", seq: decisionSeq + 1, how: "abort" });
    expect((await decideAs("sam", approvalId, "approve")).status).toBe(200);
    const done = await settle(admin, runId);
    expect(done.output).toEqual({ status: "paid" });
    const log = await events(admin, runId);
    expect(log.filter((e) => e.type === "approval.decided")).toHaveLength(1);
    expect(log.filter((e) => e.type === "approval.resolved")).toHaveLength(1);
    expect(log.filter((e) => e.type === "node.started" && e.data.node === "paid")).toHaveLength(1);
  });

  it("a crash while the decision itself commits loses it or keeps it, never half: a retry settles it once", async () => {
    const admin = await tokenFor(TENANT, ["admin"], "carl");
    const key = "crash-approval-2";
    const runId = await runIdForKey(TENANT, key);
    const { approvalId } = await waitingRun("carl", "review-1", "C-301", key);
    await quiet(admin, runId);
    await runRpc(runId).injectFault({ at: "after-append", seq: (await events(admin, runId)).length + 1, how: "abort" });
    expect((await decideAs("sam", approvalId, "approve")).status).toBe(500);
    const retry = await decideAs("sam", approvalId, "approve");
    expect([200, 409]).toContain(retry.status); // 409: it had been recorded; 200: the crash came before it was durable
    expect((await settle(admin, runId)).output).toEqual({ status: "paid" });
    const log = await events(admin, runId);
    expect(log.filter((e) => e.type === "approval.decided")).toHaveLength(1);
    expect(log.filter((e) => e.type === "approval.resolved")).toHaveLength(1);
  });

  it("two approvers deciding at the same instant produce one consistent outcome", async () => {
    for (const [d1, d2] of [
      ["approve", "approve"],
      ["approve", "reject"],
    ] as const) {
      const { token, runId, approvalId } = await waitingRun("carl", "review-1", `C-31${d2}`);
      const [r1, r2] = await Promise.all([decideAs("sam", approvalId, d1), decideAs("tess", approvalId, d2)]);
      expect([r1.status, r2.status].sort()).toEqual([200, 409]);
      const done = await settle(token, runId);
      const log = await events(token, runId);
      expect(log.filter((e) => e.type === "approval.decided")).toHaveLength(1);
      expect(log.filter((e) => e.type === "approval.resolved")).toHaveLength(1);
      const winner = log.find((e) => e.type === "approval.decided")!.data.decision;
      expect(done.output).toEqual({ status: winner === "approve" ? "paid" : "denied" });
    }
  });
});
