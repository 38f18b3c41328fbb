/**
 * TenantRegistry: one Durable Object per tenant. Holds the tenant's published workflow
 * versions and an index of its runs for listing. It is off the hot path: runs report status
 * changes to it through their outbox (at-least-once), and `indexRun` is idempotent (an older
 * summary never overwrites a newer one).
 */
import { DurableObject } from "cloudflare:workers";
import { diffPolicies, type PolicyChange } from "../src/policy/policy-diff.ts";
import { mayDecide, type ApprovalIndexEntry, type DirectoryUser } from "../src/approvals/approval-index.ts";
import type { RunSummary } from "../src/engine/run-summary.ts";
import type { MemoryConflictIndexEntry } from "../src/memory/conflict-view.ts";
import { fail, ok, type RpcResult } from "../src/engine/rpc-result.ts";
import { activeSecrets, rotateSecrets, type StoredSecret } from "../src/webhooks/secrets.ts";
import { DAY_MS, type AuditRecord } from "../src/audit/audit-entry.ts";
import { AuditShipping, auditWriterFor } from "../src/audit/audit-shipper.ts";
import { redact } from "../src/audit/redaction.ts";
import { actorOf, mergeAuditSettings, tenantStream } from "../src/audit/run-audit.ts";
import { AuditOutboxStore } from "../src/storage/audit-outbox-store.ts";
import type { Policy } from "../src/policy/policy-schema.ts";

/** Something that happened at the tenant level (not inside a run), for the tenant's audit stream. */
export interface TenantAuditItem {
  type: string;
  actor: { sub: string; roles?: string[] };
  payload: Record<string, unknown>;
  runId?: string;
  workflow?: { id: string; version: number | null; hash: string | null };
}

export interface PublishedWorkflow {
  id: string;
  version: number;
  hash: string;
  document: unknown;
  publishedAt: string;
  publishedBy: string;
}

/** What the API may show about a workflow's webhook endpoint: never the secrets. */
export interface WebhookInfo {
  workflowId: string;
  createdAt: string;
  createdBy: string;
  /** expiry of each previous secret still accepted, newest first */
  previousSecretsExpireAt: string[];
}

export interface WebhookDelivery {
  runId: string;
  requestHash: string;
}

export interface PolicyVersion {
  scope: string;
  version: number;
  policy: unknown;
  author: string;
  at: string;
  reason: string;
  diff: PolicyChange[];
}

export interface RunListItem {
  id: string;
  workflow: { id: string; version: number; hash: string };
  status: string;
  currentNode: string | null;
  createdAt: string;
  updatedAt: string;
}

interface Page<T> {
  items: T[];
  next: string | null;
}

function encodeCursor(parts: Array<string | number>): string {
  return btoa(JSON.stringify(parts)).replace(/=+$/, "");
}
export function decodeCursor(cursor: string): Array<string | number> | null {
  try {
    const v = JSON.parse(atob(cursor)) as unknown;
    return Array.isArray(v) ? (v as Array<string | number>) : null;
  } catch {
    return null;
  }
}

export class TenantRegistry extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly audit: AuditOutboxStore;
  private readonly shipping: AuditShipping;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.audit = new AuditOutboxStore(this.sql);
    this.shipping = new AuditShipping({
      outbox: this.audit,
      ctx,
      store: () => auditWriterFor(env, ctx.id.toString()),
      retry: (at) => void (at === null ? ctx.storage.deleteAlarm() : ctx.storage.setAlarm(at)),
    });
    this.sql.exec(`CREATE TABLE IF NOT EXISTS workflows (id TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL, document TEXT NOT NULL, published_at INTEGER NOT NULL, published_by TEXT NOT NULL, PRIMARY KEY (id, version))`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, workflow_version INTEGER NOT NULL, workflow_hash TEXT NOT NULL, status TEXT NOT NULL, current_node TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, seq INTEGER NOT NULL)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created_at DESC, id DESC)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs (workflow_id, created_at DESC, id DESC)`);
    // Webhook endpoint secrets (the whsec_ string; HMAC needs it): one current row (expires_at NULL) per workflow, and the previous ones until they expire.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS policies (scope TEXT NOT NULL, version INTEGER NOT NULL, policy TEXT NOT NULL, author TEXT NOT NULL, at INTEGER NOT NULL, reason TEXT NOT NULL, diff TEXT NOT NULL, PRIMARY KEY (scope, version))`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS directory (id TEXT PRIMARY KEY, email TEXT, name TEXT, roles TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS directory_meta (id INTEGER PRIMARY KEY CHECK (id = 1), updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS approvals (id TEXT PRIMARY KEY, run_id TEXT NOT NULL, status TEXT NOT NULL, requested_at INTEGER NOT NULL, seq INTEGER NOT NULL, entry TEXT NOT NULL)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS approvals_by_status ON approvals (status, requested_at DESC, id DESC)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS webhook_secrets (workflow_id TEXT NOT NULL, secret TEXT NOT NULL, created_at INTEGER NOT NULL, created_by TEXT NOT NULL, expires_at INTEGER, PRIMARY KEY (workflow_id, secret))`);
    // Accepted deliveries: a redelivered webhook-id finds its run without re-resolving the workflow.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS webhook_deliveries (workflow_id TEXT NOT NULL, webhook_id TEXT NOT NULL, run_id TEXT NOT NULL, request_hash TEXT NOT NULL, received_at INTEGER NOT NULL, PRIMARY KEY (workflow_id, webhook_id))`);
    // Agent memory conflicts of every scope (fed by the AgentMemory objects; no values, so an erasure leaves nothing here).
    this.sql.exec(`CREATE TABLE IF NOT EXISTS memory_conflicts (scope TEXT NOT NULL, id INTEGER NOT NULL, status TEXT NOT NULL, detected_at INTEGER NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (scope, id))`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS memory_conflicts_by_status ON memory_conflicts (status, detected_at DESC)`);
  }

  // ---------- audit: the tenant's own stream (policy changes, publications, operator actions, reads) ----------

  private get tenant(): string {
    const name = this.ctx.id.name;
    if (!name) throw new Error("TenantRegistry must be addressed by name (the tenant)");
    return name;
  }

  private auditRecord(item: TenantAuditItem, at: number): AuditRecord {
    const tenantPolicy = this.latestPolicy("tenant")?.policy as Partial<Policy> | undefined;
    const settings = mergeAuditSettings([tenantPolicy]);
    const { value, redactions } = redact(item.payload, { fields: settings.fields });
    return {
      tenant: this.tenant,
      stream: tenantStream(this.tenant),
      at,
      runId: item.runId ?? null,
      workflow: item.workflow ?? null,
      actor: actorOf({ sub: item.actor.sub, roles: item.actor.roles ?? [] }),
      type: item.type,
      payload: value,
      policyHash: null,
      redactions,
      retainUntil: at + settings.retentionDays * DAY_MS,
    };
  }

  /** Records tenant-level audit entries (in the caller's transaction when there is one) and ships them. */
  private record(items: TenantAuditItem[], inTransaction = false): void {
    const at = Date.now();
    const write = () => void this.audit.append(items.map((i) => this.auditRecord(i, at)));
    if (inTransaction) write();
    else this.transaction(write);
  }

  private transaction(fn: () => void): void {
    this.audit.transaction(this.ctx.storage, fn);
    this.shipping.schedule();
  }

  /** For the API: reads of runs, events and audit data, legal holds, and other acts outside a run. */
  async recordAudit(items: TenantAuditItem[]): Promise<void> {
    this.record(items);
  }

  async auditBacklog(): Promise<{ pending: number; attempts: number; nextAt: number; lastError: string | null }> {
    return this.shipping.backlog();
  }

  async alarm(): Promise<void> {
    if (this.audit.size() > 0) this.shipping.schedule(true);
  }

  // ---------- policies: every version kept, with author, time, reason and diff ----------

  async putPolicy(scope: string, policy: unknown, author: string, reason: string): Promise<PolicyVersion> {
    const prev = this.latestPolicy(scope);
    const version = (prev?.version ?? 0) + 1;
    const diff = diffPolicies(prev?.policy ?? {}, policy);
    const at = Date.now();
    this.transaction(() => {
      this.sql.exec(`INSERT INTO policies (scope, version, policy, author, at, reason, diff) VALUES (?, ?, ?, ?, ?, ?, ?)`, scope, version, JSON.stringify(policy), author, at, reason, JSON.stringify(diff));
      this.record([{ type: "policy.changed", actor: { sub: author }, payload: { scope, version, reason, diff, policy: policy as Record<string, unknown> } }], true);
    });
    return { scope, version, policy, author, at: new Date(at).toISOString(), reason, diff };
  }

  private latestPolicy(scope: string): PolicyVersion | null {
    const r = this.sql.exec<Record<string, string | number>>(`SELECT * FROM policies WHERE scope = ? ORDER BY version DESC LIMIT 1`, scope).toArray()[0];
    return r ? this.policyRow(r) : null;
  }

  private policyRow(r: Record<string, string | number>): PolicyVersion {
    return { scope: String(r.scope), version: Number(r.version), policy: JSON.parse(String(r.policy)), author: String(r.author), at: new Date(Number(r.at)).toISOString(), reason: String(r.reason), diff: JSON.parse(String(r.diff)) };
  }

  async getPolicy(scope: string): Promise<PolicyVersion | null> {
    return this.latestPolicy(scope);
  }

  async policyHistory(scope: string): Promise<PolicyVersion[]> {
    return this.sql.exec<Record<string, string | number>>(`SELECT * FROM policies WHERE scope = ? ORDER BY version DESC LIMIT 1000`, scope).toArray().map((r) => this.policyRow(r));
  }

  /** The tenant's and the workflow's current policies, for a run's policy set. */
  async policySet(workflowId: string): Promise<{ tenant: PolicyVersion | null; workflow: PolicyVersion | null }> {
    return { tenant: this.latestPolicy("tenant"), workflow: this.latestPolicy(`workflow:${workflowId}`) };
  }

  // ---------- directory: who holds which business role, and where to mail them ----------

  async putDirectory(users: DirectoryUser[], by: string): Promise<{ users: number }> {
    this.transaction(() => {
      this.record([{ type: "directory.replaced", actor: { sub: by }, payload: { users: users.map((u) => ({ id: u.id, roles: u.roles, ...(u.email ? { email: u.email } : {}) })) } }], true);
      this.sql.exec(`DELETE FROM directory`);
      for (const u of users) this.sql.exec(`INSERT INTO directory (id, email, name, roles) VALUES (?, ?, ?, ?)`, u.id, u.email ?? null, u.name ?? null, JSON.stringify(u.roles));
      this.sql.exec(`INSERT INTO directory_meta (id, updated_at, updated_by) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, updated_by = excluded.updated_by`, Date.now(), by);
    });
    return { users: users.length };
  }

  async directory(): Promise<DirectoryUser[]> {
    return this.sql
      .exec<{ id: string; email: string | null; name: string | null; roles: string }>(`SELECT id, email, name, roles FROM directory ORDER BY id`)
      .toArray()
      .map((r) => ({ id: r.id, ...(r.email ? { email: r.email } : {}), ...(r.name ? { name: r.name } : {}), roles: JSON.parse(r.roles) as string[] }));
  }

  async rolesOf(sub: string): Promise<string[]> {
    const row = this.sql.exec<{ roles: string }>(`SELECT roles FROM directory WHERE lower(id) = lower(?) OR lower(email) = lower(?) LIMIT 1`, sub, sub).toArray()[0];
    return row ? (JSON.parse(row.roles) as string[]) : [];
  }

  // ---------- approvals inbox index (fed by runs through their outbox; newer seq wins) ----------

  async indexApproval(e: ApprovalIndexEntry): Promise<void> {
    this.sql.exec(
      `INSERT INTO approvals (id, run_id, status, requested_at, seq, entry) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, seq = excluded.seq, entry = excluded.entry WHERE excluded.seq > approvals.seq`,
      e.approvalId, e.runId, e.status, Date.parse(e.requestedAt), e.seq, JSON.stringify(e),
    );
  }

  async listApprovals(q: { status?: string; who?: { sub: string; roles: string[] }; limit: number }): Promise<ApprovalIndexEntry[]> {
    const rows = q.status
      ? this.sql.exec<{ entry: string }>(`SELECT entry FROM approvals WHERE status = ? ORDER BY requested_at DESC, id DESC LIMIT 5000`, q.status).toArray()
      : this.sql.exec<{ entry: string }>(`SELECT entry FROM approvals ORDER BY requested_at DESC, id DESC LIMIT 5000`).toArray();
    const all = rows.map((r) => JSON.parse(r.entry) as ApprovalIndexEntry);
    const who = q.who;
    return (who ? all.filter((e) => e.status !== "pending" || mayDecide(e, who)) : all).slice(0, q.limit);
  }

  // ---------- agent memory conflicts index (fed by AgentMemory objects; a resolution overwrites the open entry) ----------

  async indexMemoryConflicts(entries: MemoryConflictIndexEntry[]): Promise<void> {
    for (const e of entries) {
      this.sql.exec(
        `INSERT INTO memory_conflicts (scope, id, status, detected_at, entry) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (scope, id) DO UPDATE SET status = excluded.status, entry = excluded.entry WHERE memory_conflicts.status = 'open'`,
        e.scope, e.id, e.status, e.detectedAt, JSON.stringify(e),
      );
    }
  }

  async listMemoryConflicts(q: { scope?: string; status?: "open" | "resolved"; limit: number }): Promise<MemoryConflictIndexEntry[]> {
    const where: string[] = [];
    const args: SqlStorageValue[] = [];
    if (q.scope) (where.push("scope = ?"), args.push(q.scope));
    if (q.status) (where.push("status = ?"), args.push(q.status));
    const sql = `SELECT entry FROM memory_conflicts ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY detected_at DESC, scope, id DESC LIMIT ?`;
    return this.sql.exec<{ entry: string }>(sql, ...args, q.limit).toArray().map((r) => JSON.parse(r.entry) as MemoryConflictIndexEntry);
  }

  async publish(doc: { id: string; version: number }, hash: string, by: string): Promise<RpcResult<{ created: boolean; workflow: PublishedWorkflow }>> {
    const existing = this.sql.exec<{ hash: string }>(`SELECT hash FROM workflows WHERE id = ? AND version = ?`, doc.id, doc.version).toArray()[0];
    if (existing) {
      if (existing.hash !== hash) {
        return fail(409, "Version already published", `workflow ${doc.id} version ${doc.version} is already published with hash ${existing.hash}; publish a new version number`);
      }
      return ok({ created: false, workflow: this.get(doc.id, doc.version)! });
    }
    this.transaction(() => {
      this.sql.exec(`INSERT INTO workflows (id, version, hash, document, published_at, published_by) VALUES (?, ?, ?, ?, ?, ?)`, doc.id, doc.version, hash, JSON.stringify(doc), Date.now(), by);
      this.record([{ type: "workflow.published", actor: { sub: by }, workflow: { id: doc.id, version: doc.version, hash }, payload: { id: doc.id, version: doc.version, hash } }], true);
    });
    return ok({ created: true, workflow: this.get(doc.id, doc.version)! });
  }

  private get(id: string, version?: number): PublishedWorkflow | null {
    const row =
      version === undefined
        ? this.sql.exec<Record<string, string | number>>(`SELECT * FROM workflows WHERE id = ? ORDER BY version DESC LIMIT 1`, id).toArray()[0]
        : this.sql.exec<Record<string, string | number>>(`SELECT * FROM workflows WHERE id = ? AND version = ?`, id, version).toArray()[0];
    if (!row) return null;
    return { id: String(row.id), version: Number(row.version), hash: String(row.hash), document: JSON.parse(String(row.document)), publishedAt: new Date(Number(row.published_at)).toISOString(), publishedBy: String(row.published_by) };
  }

  async workflow(id: string, version?: number): Promise<PublishedWorkflow | null> {
    return this.get(id, version);
  }

  async listWorkflows(): Promise<Array<Omit<PublishedWorkflow, "document">>> {
    return this.sql
      .exec<Record<string, string | number>>(`SELECT id, version, hash, published_at, published_by FROM workflows ORDER BY id, version DESC LIMIT 1000`)
      .toArray()
      .map((r) => ({ id: String(r.id), version: Number(r.version), hash: String(r.hash), publishedAt: new Date(Number(r.published_at)).toISOString(), publishedBy: String(r.published_by) }));
  }

  async indexRun(s: RunSummary): Promise<void> {
    const created = Date.parse(s.createdAt);
    const updated = Date.parse(s.updatedAt);
    this.sql.exec(
      `INSERT INTO runs (id, workflow_id, workflow_version, workflow_hash, status, current_node, created_at, updated_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, current_node = excluded.current_node, updated_at = excluded.updated_at, seq = excluded.seq WHERE excluded.seq > runs.seq`,
      s.id, s.workflow.id, s.workflow.version, s.workflow.hash, s.status, s.currentNode, created, updated, s.seq,
    );
  }

  async listRuns(q: { workflow?: string; status?: string; cursor?: string; limit: number }): Promise<RpcResult<Page<RunListItem>>> {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.workflow) (where.push("workflow_id = ?"), args.push(q.workflow));
    if (q.status) (where.push("status = ?"), args.push(q.status));
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      if (!c || c.length !== 2 || typeof c[0] !== "number" || typeof c[1] !== "string") return fail(400, "Bad Request", "cursor is not one this API issued");
      where.push("(created_at < ? OR (created_at = ? AND id < ?))");
      args.push(c[0], c[0], c[1]);
    }
    const sqlText = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = this.sql.exec<Record<string, string | number | null>>(sqlText, ...args, q.limit + 1).toArray();
    const page = rows.slice(0, q.limit);
    const items = page.map((r) => ({
      id: String(r.id),
      workflow: { id: String(r.workflow_id), version: Number(r.workflow_version), hash: String(r.workflow_hash) },
      status: String(r.status),
      currentNode: r.current_node === null ? null : String(r.current_node),
      createdAt: new Date(Number(r.created_at)).toISOString(),
      updatedAt: new Date(Number(r.updated_at)).toISOString(),
    }));
    const last = page[page.length - 1];
    return ok({ items, next: rows.length > q.limit && last ? encodeCursor([Number(last.created_at), String(last.id)]) : null });
  }

  // ---------- webhooks ----------

  private secretRows(workflowId: string): Array<StoredSecret & { createdBy: string }> {
    return this.sql
      .exec<{ secret: string; created_at: number; created_by: string; expires_at: number | null }>(`SELECT secret, created_at, created_by, expires_at FROM webhook_secrets WHERE workflow_id = ?`, workflowId)
      .toArray()
      .map((r) => ({ secret: r.secret, createdAt: Number(r.created_at), createdBy: r.created_by, expiresAt: r.expires_at === null ? null : Number(r.expires_at) }));
  }

  /** Installs `secret` as the workflow's current webhook secret; the one it replaces stays valid for the grace period. */
  async rotateWebhookSecret(workflowId: string, secret: string, by: string): Promise<RpcResult<{ rotated: boolean; info: WebhookInfo }>> {
    if (!this.get(workflowId)) return fail(404, "Not Found", `no published workflow ${workflowId}`);
    const now = Date.now();
    const before = this.secretRows(workflowId);
    const rows = rotateSecrets(before, secret, now);
    this.transaction(() => {
      // the secret itself never reaches the audit trail
      this.record([{ type: "webhook.secret_rotated", actor: { sub: by }, payload: { workflowId, previousSecretsKeptFor: "24h" } }], true);
      this.sql.exec(`DELETE FROM webhook_secrets WHERE workflow_id = ?`, workflowId);
      const byOf = new Map(before.map((r) => [r.secret, r.createdBy]));
      for (const r of rows) this.sql.exec(`INSERT INTO webhook_secrets (workflow_id, secret, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?)`, workflowId, r.secret, r.createdAt, byOf.get(r.secret) ?? by, r.expiresAt);
    });
    return ok({ rotated: before.some((r) => r.expiresAt === null), info: this.webhookInfoAt(workflowId, now)! });
  }

  private webhookInfoAt(workflowId: string, now: number): WebhookInfo | null {
    const rows = this.secretRows(workflowId);
    const active = activeSecrets(rows, now);
    const current = rows.find((r) => r.expiresAt === null);
    if (!current) return null;
    return {
      workflowId,
      createdAt: new Date(current.createdAt).toISOString(),
      createdBy: current.createdBy,
      previousSecretsExpireAt: active.filter((r) => r.expiresAt !== null).map((r) => new Date(r.expiresAt!).toISOString()),
    };
  }

  async webhookInfo(workflowId: string): Promise<WebhookInfo | null> {
    return this.webhookInfoAt(workflowId, Date.now());
  }

  /** For verifying a delivery: the secrets valid now (null if no webhook is configured) and the run an earlier delivery with this id started. */
  async webhookEndpoint(workflowId: string, webhookId: string): Promise<{ secrets: string[]; delivery: WebhookDelivery | null } | null> {
    const secrets = activeSecrets(this.secretRows(workflowId), Date.now()).map((r) => r.secret);
    if (!secrets.length) return null;
    const d = this.sql.exec<{ run_id: string; request_hash: string }>(`SELECT run_id, request_hash FROM webhook_deliveries WHERE workflow_id = ? AND webhook_id = ?`, workflowId, webhookId).toArray()[0];
    return { secrets, delivery: d ? { runId: d.run_id, requestHash: d.request_hash } : null };
  }

  async recordWebhookDelivery(workflowId: string, webhookId: string, delivery: WebhookDelivery): Promise<void> {
    this.sql.exec(`INSERT OR IGNORE INTO webhook_deliveries (workflow_id, webhook_id, run_id, request_hash, received_at) VALUES (?, ?, ?, ?, ?)`, workflowId, webhookId, delivery.runId, delivery.requestHash, Date.now());
  }
}
