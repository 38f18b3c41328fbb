import { describe, expect, it } from "vitest";
import { eligibility, tally } from "../../src/approvals/approval-state.ts";
import { decide } from "../../src/engine/decide.ts";
import { replay } from "../../src/engine/replay.ts";
import { Harness } from "./interpreter-harness.ts";

const H = 3_600_000;

function approvalDoc(overrides: Record<string, unknown> = {}) {
  return {
    id: "wf",
    version: 1,
    start: "review",
    nodes: {
      review: {
        kind: "approval",
        approvers: { roles: ["claims-supervisor"], quorum: 2 },
        context: "Claim {{input.claimId}}",
        escalate: [{ after: "4h", to: { roles: ["claims-manager"] } }],
        timeout: { after: "3d", outcome: "reject" },
        onApprove: "paid",
        onReject: "denied",
        ...overrides,
      },
      paid: { kind: "end", output: "paid" },
      denied: { kind: "end", output: "denied" },
    },
  };
}

const decided = (h: Harness, by: string, decision: "approve" | "reject", roles: string[] = ["claims-supervisor"]) =>
  h.push({ type: "approval.decided", data: { approvalId: h.state.cursor!.approval!.approvalId, by, roles, decision, via: "api" } });

describe("approval node", () => {
  it("requests, schedules escalation and timeout, and waits", () => {
    const h = new Harness(approvalDoc(), { claimId: "C-9" });
    const s = h.run();
    expect(s.status).toBe("waiting");
    const a = s.cursor!.approval!;
    expect(a).toMatchObject({ approvalId: "run_test/review".replace("/", ".") + ".1", quorum: 2, context: "Claim C-9", excluded: ["u"], status: "pending" });
    expect(Object.keys(a.timers).sort()).toEqual(["escalate:run_test.review.1:1", "timeout:run_test.review.1"]);
    expect(decide(s)).toEqual({ kind: "wait", until: a.requestedAt + 4 * H });
  });

  it("needs two distinct approvers; the same person twice counts once", () => {
    const h = new Harness(approvalDoc());
    h.run();
    const a = () => h.state.cursor!.approval!;
    expect(eligibility(a(), { sub: "sam", roles: ["claims-supervisor"] })).toEqual({ ok: true });
    decided(h, "sam", "approve");
    expect(eligibility(a(), { sub: "SAM", roles: ["claims-supervisor"] })).toMatchObject({ ok: false, status: 409 });
    decided(h, "sam", "approve"); // even if recorded twice, it counts once
    expect(tally(a())).toBeNull();
    expect(h.run().status).toBe("waiting");
    decided(h, "tess", "approve");
    const s = h.run();
    expect(s.status).toBe("completed");
    expect(s.output).toBe("paid");
    expect(s.nodes.review.output).toMatchObject({ outcome: "approved" });
  });

  it("refuses the run's starter (separation of duties), the excluded and non-approvers", () => {
    const h = new Harness(approvalDoc({ exclude: ["eve"] }));
    h.run();
    const a = h.state.cursor!.approval!;
    expect(eligibility(a, { sub: "u", roles: ["claims-supervisor"] })).toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/separation of duties/) });
    expect(eligibility(a, { sub: "eve", roles: ["claims-supervisor"] })).toMatchObject({ ok: false, status: 403 });
    expect(eligibility(a, { sub: "bob", roles: ["claims-clerk"] })).toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/not among the approvers/) });
    expect(eligibility(a, { sub: "mia", roles: ["claims-manager"] })).toMatchObject({ ok: false, status: 403 }); // not escalated yet
  });

  it("any rejection rejects by default", () => {
    const h = new Harness(approvalDoc());
    h.run();
    decided(h, "sam", "approve");
    decided(h, "tess", "reject");
    expect(h.run().output).toBe("denied");
  });

  it("escalates to the next level at the right time; that level may then approve", () => {
    const h = new Harness(approvalDoc({ approvers: { roles: ["claims-supervisor"], quorum: 1 } }));
    h.run();
    const requestedAt = h.state.cursor!.approval!.requestedAt; // escalation is measured from the request
    h.fireNext(); // the first due timer: the escalation
    const esc = h.events.find((e) => e.type === "approval.escalated");
    expect(esc?.data).toMatchObject({ level: 1 });
    expect(h.events.find((e) => e.type === "timer.fired")!.at).toBe(requestedAt + 4 * H);
    expect(eligibility(h.state.cursor!.approval!, { sub: "mia", roles: ["claims-manager"] })).toEqual({ ok: true });
    decided(h, "mia", "approve", ["claims-manager"]);
    expect(h.run().output).toBe("paid");
  });

  it("a timeout produces the declared outcome", () => {
    for (const [outcome, status, output] of [
      ["reject", "completed", "denied"],
      ["approve", "completed", "paid"],
      ["fail", "failed", undefined],
    ] as const) {
      const h = new Harness(approvalDoc({ escalate: [], timeout: { after: "1d", outcome } }));
      const s = h.run(undefined, { fireTimers: true });
      expect(s.status).toBe(status);
      if (output) expect(s.output).toBe(output);
      expect(h.events.find((e) => e.type === "approval.resolved")?.data).toMatchObject({ outcome: "expired", effect: outcome });
      expect(h.events.find((e) => e.type === "timer.fired")!.at - h.events.find((e) => e.type === "node.started")!.at).toBe(24 * H);
    }
  });

  it("an operator's cancel routes to onReject; a reassignment changes who may decide", () => {
    const h = new Harness(approvalDoc({ approvers: { users: ["ann"], quorum: 1 } }));
    h.run();
    const id = h.state.cursor!.approval!.approvalId;
    h.push({ type: "approval.reassigned", data: { approvalId: id, actor: { sub: "ops", roles: ["operator"] }, to: { users: ["ben"], roles: [] } } });
    expect(eligibility(h.state.cursor!.approval!, { sub: "ann", roles: [] })).toMatchObject({ ok: false });
    expect(eligibility(h.state.cursor!.approval!, { sub: "ben", roles: [] })).toEqual({ ok: true });
    h.push({ type: "approval.cancelled", data: { approvalId: id, actor: { sub: "ops", roles: ["operator"] } } });
    expect(h.run().output).toBe("denied");
  });

  it("replays a run with approvals, escalations and a decision", () => {
    const h = new Harness(approvalDoc({ approvers: { roles: ["claims-supervisor"], quorum: 1 } }));
    h.run();
    h.fireNext();
    h.push({ type: "approval.notified", data: { approvalId: h.state.cursor!.approval!.approvalId, level: 1, recipients: [{ id: "mia", email: "mia@x.test" }], channel: "smtp" } });
    decided(h, "mia", "approve", []);
    h.run();
    expect(h.state.status).toBe("completed");
    expect(replay(h.events).ok).toBe(true);
  });

  it("rejects an approval node that can never reach its quorum, or escalations out of order", async () => {
    const { parseWorkflow } = await import("../../src/engine/workflow-schema.ts");
    const r = parseWorkflow(approvalDoc({ approvers: { users: ["a"], quorum: 2 }, escalate: [] }));
    expect(!r.ok && r.errors[0]).toMatchObject({ path: "nodes.review.approvers.quorum" });
    const o = parseWorkflow(approvalDoc({ escalate: [{ after: "1d", to: { roles: ["x"] } }, { after: "4h", to: { roles: ["y"] } }] }));
    expect(!o.ok && o.errors[0]).toMatchObject({ path: "nodes.review.escalate[1].after" });
  });
});
