/**
 * The notice a budget breach or a per-run limit sends: an email to each address the tenant's
 * budget names (else to the tenant's directory admins), and a JSON POST to its webhook if one is
 * configured. Pure: the run's outbox delivers what this builds.
 */
import { z } from "zod";
import type { OutgoingEmail } from "../notifications/email-sender.ts";
import { escapeHtml } from "../approvals/approval-pages.ts";

export const breachNotifySchema = z.strictObject({
  emails: z.array(z.email()).max(50).optional(),
  webhookUrl: z.url({ protocol: /^https?$/ }).optional(),
});
export type BreachNotify = z.output<typeof breachNotifySchema>;

export interface BreachFacts {
  tenant: string;
  runId: string;
  workflow: string;
  node: string;
  /** "budget" (USD or tokens) or "limit" (steps, tool calls, iterations) */
  cause: "budget" | "limit";
  /** which budget or limit, e.g. "tenant:acme day usd" or "run iterations" */
  which: string;
  reason: string;
  at: number;
}

export function breachEmail(to: string, f: BreachFacts, publicUrl: string): OutgoingEmail {
  const what = f.cause === "budget" ? "a budget" : "a per-run limit";
  const subject = `Run halted by ${what}: ${f.workflow} (${f.which})`;
  const link = `${publicUrl.replace(/\/$/, "")}/v1/runs/${f.runId}`;
  const text = `A run was halted before its next step by ${what}.\n\nWorkflow: ${f.workflow}\nRun: ${f.runId}\nNode: ${f.node}\nBudget: ${f.which}\n\n${f.reason}\n\nRun: ${link}\nBudgets: GET /v1/budgets/tenant\n`;
  const html = `<!doctype html><html><body style="font-family:sans-serif"><p>A run was halted before its next step by ${escapeHtml(what)}.</p><p><b>Workflow:</b> ${escapeHtml(f.workflow)}<br><b>Run:</b> ${escapeHtml(f.runId)}<br><b>Node:</b> ${escapeHtml(f.node)}<br><b>Budget:</b> ${escapeHtml(f.which)}</p><p>${escapeHtml(f.reason)}</p><p><a href="${escapeHtml(link)}">The run</a></p></body></html>`;
  return { to, subject, text, html, messageId: `${f.runId}.budget.${to.replace(/[^\w.-]/g, "_")}@warden` };
}

/** The webhook body: one JSON document per breach, with a stable id for deduplication. */
export function breachWebhookBody(f: BreachFacts): { id: string; type: "run.halted.budget" | "run.halted.limit"; data: BreachFacts & { at: string } } {
  return { id: `${f.runId}.budget`, type: f.cause === "budget" ? "run.halted.budget" : "run.halted.limit", data: { ...f, at: new Date(f.at).toISOString() } as BreachFacts & { at: string } };
}
