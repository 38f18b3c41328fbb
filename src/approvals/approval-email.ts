/** The notification an approver receives: plain text and HTML with the signed link. Pure. */
import type { OutgoingEmail } from "../notifications/email-sender.ts";
import { escapeHtml } from "./approval-pages.ts";

export function approvalEmail(p: { to: string; messageId: string; workflow: string; runId: string; approvalId: string; context: string; link: string; level: number; expiresAt: string }): OutgoingEmail {
  const escalated = p.level > 0 ? ` (escalated, level ${p.level + 1})` : "";
  const subject = `Approval needed${escalated}: ${p.workflow} — ${p.approvalId.split(".").slice(1, 2).join("")}`;
  const text = `An approval is waiting for you${escalated}.\n\nWorkflow: ${p.workflow}\nRun: ${p.runId}\n\n${p.context}\n\nReview and decide: ${p.link}\n(The link works once and expires ${p.expiresAt}. Opening it decides nothing.)\n`;
  const html = `<!doctype html><html><body style="font-family:sans-serif"><p>An approval is waiting for you${escapeHtml(escalated)}.</p><p><b>Workflow:</b> ${escapeHtml(p.workflow)}<br><b>Run:</b> ${escapeHtml(p.runId)}</p><pre style="white-space:pre-wrap;background:#f4f4f4;padding:8px">${escapeHtml(p.context)}</pre><p><a href="${escapeHtml(p.link)}">Review and decide</a></p><p style="color:#666">The link works once and expires ${escapeHtml(p.expiresAt)}. Opening it decides nothing.</p></body></html>`;
  return { to: p.to, subject, text, html, messageId: p.messageId };
}
