/** What a run reports about an approval to its tenant's inbox index, and who may see it there. Pure. */
import { activeApprovers, type ApprovalState } from "./approval-state.ts";

export interface ApprovalIndexEntry {
  approvalId: string;
  runId: string;
  workflow: string;
  node: string;
  status: string;
  approvers: { users: string[]; roles: string[] };
  notified: string[];
  excluded: string[];
  decidedBy: string[];
  quorum: number;
  approvals: number;
  context: string;
  requestedAt: string;
  deadline: string | null;
  seq: number;
}

export function indexEntry(a: ApprovalState, runId: string, workflow: string, seq: number): ApprovalIndexEntry {
  return {
    approvalId: a.approvalId,
    runId,
    workflow,
    node: a.node,
    status: a.status,
    approvers: activeApprovers(a),
    notified: [...new Set(a.notified.flatMap((n) => n.recipients.flatMap((r) => [r.id, ...(r.email ? [r.email] : [])])))],
    excluded: a.excluded,
    decidedBy: [...new Set(a.decisions.map((d) => d.by))],
    quorum: a.quorum,
    approvals: new Set(a.decisions.filter((d) => d.decision === "approve").map((d) => d.by.toLowerCase())).size,
    context: a.context,
    requestedAt: new Date(a.requestedAt).toISOString(),
    deadline: a.deadline ? new Date(a.deadline).toISOString() : null,
    seq,
  };
}

/** The inbox filter: pending items this person could decide now. */
export function mayDecide(e: ApprovalIndexEntry, who: { sub: string; roles: string[] }): boolean {
  const sub = who.sub.toLowerCase();
  const lower = (xs: string[]) => xs.map((x) => x.toLowerCase());
  if (lower(e.excluded).includes(sub) || lower(e.decidedBy).includes(sub)) return false;
  return lower(e.approvers.users).includes(sub) || lower(e.notified).includes(sub) || who.roles.some((r) => e.approvers.roles.includes(r));
}

export interface DirectoryUser {
  id: string;
  email?: string;
  name?: string;
  roles: string[];
}

/** The people to notify for a set of approvers: named users (by id or email) and everyone holding a role, minus the excluded. */
export function recipientsFor(set: { users: string[]; roles: string[] }, directory: DirectoryUser[], excluded: string[]): Array<{ id: string; email?: string }> {
  const out = new Map<string, { id: string; email?: string }>();
  const ex = new Set(excluded.map((x) => x.toLowerCase()));
  for (const u of set.users) {
    const known = directory.find((d) => d.id.toLowerCase() === u.toLowerCase() || d.email?.toLowerCase() === u.toLowerCase());
    const entry = known ? { id: known.id, ...(known.email ? { email: known.email } : {}) } : { id: u, ...(u.includes("@") ? { email: u } : {}) };
    out.set(entry.id.toLowerCase(), entry);
  }
  for (const d of directory) if (d.roles.some((r) => set.roles.includes(r))) out.set(d.id.toLowerCase(), { id: d.id, ...(d.email ? { email: d.email } : {}) });
  return [...out.values()].filter((r) => !ex.has(r.id.toLowerCase()) && !(r.email && ex.has(r.email.toLowerCase())));
}
