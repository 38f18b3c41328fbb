/** HTML for the approval link: the confirmation page (GET) and the result or error pages. Pure. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}pre{white-space:pre-wrap;background:#f4f4f4;padding:.75rem}button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}textarea{width:100%}</style></head><body>${body}</body></html>`;
}

export function confirmationPage(p: { approvalId: string; workflow: string; runId: string; context: string; approver: string; status: string; decisions: number; quorum: number }): string {
  return page(
    "Approval requested",
    `<h1>Approval requested</h1><p><b>Workflow:</b> ${escapeHtml(p.workflow)}<br><b>Run:</b> ${escapeHtml(p.runId)}<br><b>You:</b> ${escapeHtml(p.approver)}<br><b>Status:</b> ${escapeHtml(p.status)} (${p.decisions} of ${p.quorum} approvals)</p><pre>${escapeHtml(p.context)}</pre>` +
      `<form method="post"><label for="comment">Comment</label><br><textarea id="comment" name="comment" rows="3" maxlength="2000"></textarea><p><button type="submit" name="decision" value="approve">Approve</button><button type="submit" name="decision" value="reject">Reject</button></p></form>` +
      `<p style="color:#666">Opening this page decides nothing; only the buttons do. The link works once.</p>`,
  );
}

export function resultPage(p: { decision: "approve" | "reject"; approvalId: string; status: string }): string {
  return page("Decision recorded", `<h1>Decision recorded</h1><p>You chose <b>${p.decision}</b> for ${escapeHtml(p.approvalId)}. The approval is now <b>${escapeHtml(p.status)}</b>.</p>`);
}

export function errorPage(title: string, reason: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(reason)}</p><p>Nothing was changed.</p>`);
}
