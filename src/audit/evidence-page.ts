/** The evidence report as one printable HTML page (the JSON form is the same report). */
import { escapeHtml as h } from "../approvals/approval-pages.ts";
import type { EvidenceReport } from "./evidence.ts";

const table = (head: string[], rows: string[][]) =>
  rows.length ? `<table><thead><tr>${head.map((x) => `<th>${h(x)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${h(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>` : "<p><i>none</i></p>";

const verdict = (ok: boolean, yes: string, no: string) => `<p class="${ok ? "ok" : "bad"}">${ok ? "✔" : "✘"} ${h(ok ? yes : no)}</p>`;

export function evidencePage(r: EvidenceReport): string {
  const i = r.integrity;
  const body = [
    `<h1>Evidence report: run ${h(r.run.id)}</h1>`,
    `<p>Workflow <b>${h(r.run.workflow.id)}</b> v${r.run.workflow.version} (<code>${h(r.run.workflow.hash)}</code>) · tenant ${h(r.run.tenant)} · started by ${h(r.run.startedBy)} at ${h(r.run.createdAt)} · status <b>${h(r.run.status)}</b> · report generated ${h(r.generatedAt)}</p>`,
    `<h2>Integrity of this record</h2>`,
    verdict(i.ok, `hash chain of ${i.entries} entries verifies; sealed through entry ${i.sealedThrough ?? "—"} (${i.seals} signed checkpoints); ${i.purges} purge records`, `${i.problems.length} problem(s) found in the audit trail`),
    i.problems.length ? table(["kind", "seq", "problem"], i.problems.map((p) => [p.kind, String(p.seq ?? ""), p.message])) : "",
    i.pendingShipment ? `<p>${i.pendingShipment} entries are committed with the run but not yet shipped to the audit database.</p>` : "",
    `<h2>1. What did the agent see, decide and do?</h2>`,
    `<p>${r.whatHappened.llmCalls} model calls (${r.whatHappened.tokens.input} input / ${r.whatHappened.tokens.output} output tokens), ${r.whatHappened.toolCalls} tool calls. Values below are as redacted in the audit trail.</p>`,
    table(["seq", "time", "node", "what"], r.whatHappened.steps.map((s) => [String(s.seq), s.at, s.node ?? "", s.detail])),
    `<h2>2. Can we replay it exactly?</h2>`,
    verdict(r.replay.exact, r.replay.detail, r.replay.detail),
    `<h2>3. Were the guardrails in force?</h2>`,
    table(["policy set hash", "loaded at", "levels (version)"], r.guardrails.policySets.map((p) => [p.hash, p.at, p.levels.map((l) => `${l.level} ${l.version ?? "(in document)"}`).join(", ")])),
    `<p>Decisions: ${r.guardrails.decisions.allow} allowed, ${r.guardrails.decisions.deny} denied, ${r.guardrails.decisions.require_approval} sent for approval, ${r.guardrails.decisions.shadow} shadow findings.</p>`,
    table(["seq", "time", "action", "effect", "rules", "reason"], r.guardrails.notable.map((n) => [String(n.seq), n.at, n.action, n.effect, n.rules.join(", "), n.reason])),
    `<h2>4. Did a human review it?</h2>`,
    verdict(r.humanReview.reviewed, "yes: see the decisions below", "no human decision is recorded for this run"),
    table(["approval", "requested", "outcome", "decisions", "escalations"], r.humanReview.approvals.map((a) => [a.approvalId, a.requestedAt, a.outcome ?? "pending", a.decisions.map((d) => `${d.by}: ${d.decision} via ${d.via} at ${d.at}`).join("; "), String(a.escalations)])),
    r.humanReview.operatorActions.length ? table(["time", "operator action", "by"], r.humanReview.operatorActions.map((o) => [o.at, o.type, o.by])) : "",
    `<h2>5. How long is the data kept, and who read it?</h2>`,
    `<p>Retained until ${h(r.retention.retainUntil.earliest ?? "—")} … ${h(r.retention.retainUntil.latest ?? "—")}. ${r.retention.holds.length ? `<b>Under legal hold</b> (${r.retention.holds.length}): purging is blocked.` : "No legal hold."}</p>`,
    r.retention.holds.length ? table(["hold", "scope", "reason", "placed by", "at"], r.retention.holds.map((x) => [x.id, `${x.scope} ${x.scopeId}`, x.reason, x.placedBy, x.placedAt])) : "",
    r.retention.purges.length ? table(["purged seqs", "count", "at"], r.retention.purges.map((p) => [`${p.fromSeq}–${p.toSeq}`, String(p.count), p.purgedAt])) : "",
    table(["time", "reader", "what"], r.retention.reads.map((x) => [x.at, x.by, x.what])),
  ].join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><meta name="robots" content="noindex"><title>Evidence: ${h(r.run.id)}</title><style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;font-size:14px}table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .4rem;text-align:left;vertical-align:top}th{background:#f4f4f4}.ok{color:#0a6b2d}.bad{color:#a40000;font-weight:bold}code{font-size:12px}</style></head><body>${body}</body></html>`;
}
