/**
 * The link in the approval email. GET shows the confirmation page (and records that it was
 * opened); only POST decides, so a mail scanner that prefetches links approves nothing.
 * The token is the authentication: signed, bound to the run and approval, one use.
 */
import { Hono } from "hono";
import { z } from "zod";
import { verifyApprovalLink } from "../../approvals/approval-link.ts";
import { confirmationPage, errorPage, resultPage } from "../../approvals/approval-pages.ts";
import type { AppEnv } from "../auth-middleware.ts";
import { runStub } from "../stubs.ts";

export const approvalLinkRoutes = new Hono<AppEnv>();

const HTML = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "referrer-policy": "no-referrer", "x-robots-tag": "noindex" };
const html = (status: number, body: string) => new Response(body, { status, headers: HTML });
const form = z.object({ decision: z.enum(["approve", "reject"]), comment: z.string().max(2000).optional() });

approvalLinkRoutes.get("/:token", async (c) => {
  const check = await verifyApprovalLink(c.req.param("token"), c.env.WARDEN_JWT_SECRET);
  if (!check.ok) return html(check.status, errorPage("This link does not work", check.reason));
  const res = await runStub(c.env, check.claims.run).viewApproval(check.claims);
  if (!res.ok) return html(res.problem.status, errorPage(res.problem.title, res.problem.detail));
  const a = res.value;
  return html(200, confirmationPage({ approvalId: a.approvalId, workflow: a.workflow, runId: a.runId, context: a.context, approver: check.claims.sub, status: a.status, decisions: a.approvals, quorum: a.quorum }));
});

approvalLinkRoutes.post("/:token", async (c) => {
  const check = await verifyApprovalLink(c.req.param("token"), c.env.WARDEN_JWT_SECRET);
  if (!check.ok) return html(check.status, errorPage("This link does not work", check.reason));
  let raw: Record<string, unknown>;
  try {
    raw = Object.fromEntries((await c.req.formData()).entries());
  } catch {
    return html(400, errorPage("Bad request", "the form could not be read"));
  }
  const parsed = form.safeParse({ ...raw, comment: raw.comment || undefined });
  if (!parsed.success) return html(422, errorPage("Bad request", "choose Approve or Reject"));
  const { claims } = check;
  const res = await runStub(c.env, claims.run).decideApproval({ tenant: null, run: claims.run, approvalId: claims.approval, who: { sub: claims.sub, roles: [] }, decision: parsed.data.decision, ...(parsed.data.comment ? { comment: parsed.data.comment } : {}), via: "link", jti: claims.jti });
  if (!res.ok) return html(res.problem.status, errorPage(res.problem.title, res.problem.detail));
  return html(200, resultPage({ decision: parsed.data.decision, approvalId: claims.approval, status: res.value.status }));
});
