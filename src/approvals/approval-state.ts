/**
 * Human approval as a pure state machine: pending → approved | rejected | expired | cancelled,
 * with escalation levels in between. Who may decide, and what the decisions add up to, are
 * pure functions of this state; the run's event log is its only storage.
 */
export interface ApproverSet {
  users: string[];
  roles: string[];
}

export interface ApprovalLevel extends ApproverSet {
  level: number;
  afterMs: number;
}

export interface ApprovalDecisionRecord {
  by: string;
  decision: "approve" | "reject";
  via: "link" | "api" | "cli";
  at: number;
  comment?: string;
}

export type ApprovalStatus = "pending" | "approved" | "rejected" | "expired" | "cancelled";

export interface ApprovalTimer {
  timerId: string;
  fireAt: number;
  fired: boolean;
}

export interface ApprovalState {
  approvalId: string;
  node: string;
  visit: number;
  requestedAt: number;
  quorum: number;
  rejection: "any" | "quorum";
  levels: ApprovalLevel[];
  activeLevel: number;
  /** After an operator reassigns: the set that replaces every level active at that moment. */
  reassigned: null | { set: ApproverSet; atLevel: number };
  excluded: string[];
  context: string;
  deadline: number | null;
  timeoutOutcome?: "approve" | "reject" | "fail";
  notified: Array<{ level: number; recipients: Array<{ id: string; email?: string }> }>;
  views: number;
  decisions: ApprovalDecisionRecord[];
  cancelled: boolean;
  status: ApprovalStatus;
  timers: Record<string, ApprovalTimer>;
}

export interface Principal {
  /** The person's id (or email), as in the token's `sub` or the link's `sub`. */
  sub: string;
  /** The person's roles from the tenant directory (business roles such as claims-supervisor). */
  roles: string[];
}

const norm = (s: string) => s.trim().toLowerCase();

/** The approvers who may decide now: the active levels (or a reassignment plus later levels). */
export function activeApprovers(a: ApprovalState): ApproverSet {
  const from = a.reassigned ? a.reassigned.atLevel + 1 : 0;
  const sets: ApproverSet[] = a.reassigned ? [a.reassigned.set] : [];
  for (const l of a.levels) if (l.level >= from && l.level <= a.activeLevel) sets.push(l);
  return { users: [...new Set(sets.flatMap((s) => s.users))], roles: [...new Set(sets.flatMap((s) => s.roles))] };
}

/** People notified for an active level also count as named approvers (roles resolved to people at notification time). */
function notifiedIds(a: ApprovalState): Set<string> {
  // after a reassignment only its own notification (level -1) and later escalations count
  const counts = (level: number) => (a.reassigned ? level === -1 || (level > a.reassigned.atLevel && level <= a.activeLevel) : level >= 0 && level <= a.activeLevel);
  return new Set(a.notified.filter((n) => counts(n.level)).flatMap((n) => n.recipients.flatMap((r) => [norm(r.id), ...(r.email ? [norm(r.email)] : [])])));
}

export type Eligibility = { ok: true } | { ok: false; status: 403 | 409; reason: string };

export function eligibility(a: ApprovalState, who: Principal): Eligibility {
  if (a.status !== "pending") return { ok: false, status: 409, reason: `approval ${a.approvalId} is already ${a.status}` };
  const outcome = tally(a);
  if (outcome || a.cancelled) return { ok: false, status: 409, reason: `approval ${a.approvalId} is already ${outcome ?? "cancelled"}` };
  const sub = norm(who.sub);
  if (a.excluded.map(norm).includes(sub)) return { ok: false, status: 403, reason: `${who.sub} may not approve this run (separation of duties: started the run or is excluded)` };
  if (a.decisions.some((d) => norm(d.by) === sub)) return { ok: false, status: 409, reason: `${who.sub} has already decided; a person counts once toward the quorum` };
  const set = activeApprovers(a);
  const named = set.users.map(norm).includes(sub) || notifiedIds(a).has(sub);
  const byRole = who.roles.some((r) => set.roles.includes(r));
  if (!named && !byRole) return { ok: false, status: 403, reason: `${who.sub} is not among the approvers of ${a.approvalId}` };
  return { ok: true };
}

/** What the decisions so far add up to: distinct people, one vote each. */
export function tally(a: ApprovalState): "approved" | "rejected" | null {
  const approvals = new Set(a.decisions.filter((d) => d.decision === "approve").map((d) => norm(d.by))).size;
  const rejections = new Set(a.decisions.filter((d) => d.decision === "reject").map((d) => norm(d.by))).size;
  if (a.rejection === "any" && rejections > 0) return "rejected";
  if (approvals >= a.quorum) return "approved";
  if (a.rejection === "quorum" && rejections >= a.quorum) return "rejected";
  return null;
}

export function pendingTimers(a: ApprovalState): ApprovalTimer[] {
  return Object.values(a.timers).filter((t) => !t.fired);
}
