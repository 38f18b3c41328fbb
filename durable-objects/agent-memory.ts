/**
 * AgentMemory: one Durable Object per memory scope, named `<tenant>:<scope>` (a scope is a
 * subject such as a claimant). The imperative shell around the pure planners of src/memory:
 * each operation reads the records it needs, plans, and applies the changes in one
 * transactionSync. Writes are idempotent by key (a run's retried memory call gets the records it
 * made the first time). Open and resolved conflicts are pushed to the tenant's registry, so
 * `GET /v1/memory/conflicts` can list them across scopes; a failed push is retried by the alarm.
 *
 * Auditing: every write, conflict, resolution, retraction and erasure is an entry on the
 * scope's own audit stream (`memory:<tenant>:<scope>`), chained into the object's audit outbox in
 * the same transaction as the act and shipped like a run's (src/memory/memory-audit.ts); a
 * run's memory calls are also events of that run. Reads through the API are audited by the API.
 */
import { DurableObject } from "cloudflare:workers";
import { MemoryInputError, type ConflictRecord, type FactInput, type FactRecord, type MemoryReadResult, type MemoryWriteResult, type ResolveRequest, type Writer } from "../src/memory/fact-model.ts";
import { planErasure, planResolution, planRetraction, planWrite, type MemoryChange } from "../src/memory/memory-plan.ts";
import { selectAt } from "../src/memory/memory-query.ts";
import { MemoryStore } from "../src/memory/memory-store.ts";
import { conflictIndexEntry, type MemoryConflictView } from "../src/memory/conflict-view.ts";
import { fail, ok, type RpcResult } from "../src/engine/rpc-result.ts";
import { registryStub } from "../src/api/stubs.ts";
import { AuditShipping, auditWriterFor } from "../src/audit/audit-shipper.ts";
import { AuditOutboxStore } from "../src/storage/audit-outbox-store.ts";
import { memoryAuditRecord, writeAuditItems, type MemoryAuditItem } from "../src/memory/memory-audit.ts";

const INDEX_RETRY_MS = 5_000;

export interface MemoryTarget {
  tenant: string;
  scope: string;
}

export interface MemoryReadRequest extends MemoryTarget {
  subject?: string;
  attributes?: string[];
  /** transaction time (ms): what the memory held then; absent: now */
  asOf?: number;
  /** valid time (ms): what was true then; absent: the as-of instant; null: every period */
  validAt?: number | null;
}

export interface MemoryWriteRequest extends MemoryTarget {
  facts: FactInput[];
  writer: Writer;
  /** a retried request with the same key changes nothing and answers as the first did */
  idempotencyKey?: string;
}

export const memoryObjectName = (tenant: string, scope: string) => `${tenant}:${scope}`;

export class AgentMemory extends DurableObject<Env> {
  private readonly store: MemoryStore;
  private readonly audit: AuditOutboxStore;
  private readonly shipping: AuditShipping;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new MemoryStore(ctx.storage.sql);
    this.audit = new AuditOutboxStore(ctx.storage.sql);
    this.shipping = new AuditShipping({
      outbox: this.audit,
      ctx,
      store: () => auditWriterFor(env, ctx.id.toString()),
      retry: (at) => void (at === null ? undefined : ctx.storage.setAlarm(at)),
    });
  }

  /** The object serves one tenant's scope: a request naming another is refused as if nothing existed. */
  private owns(t: MemoryTarget): boolean {
    const name = this.ctx.id.name;
    return name === undefined ? this.store.meta("name") === memoryObjectName(t.tenant, t.scope) : name === memoryObjectName(t.tenant, t.scope);
  }

  /** Plans and applies an act in one transaction, with its audit entries. */
  private commit<T>(t: MemoryTarget, at: number, plan: () => { changes: MemoryChange[]; value: T }, audit: (value: T) => MemoryAuditItem[]): T {
    let value!: T;
    try {
      this.audit.transaction(this.ctx.storage, () => {
        const p = plan();
        this.store.apply(p.changes);
        value = p.value;
        this.audit.append(audit(value).map((i) => memoryAuditRecord(t.tenant, t.scope, i, at)));
      });
    } catch (err) {
      this.store.resync();
      throw err;
    }
    this.shipping.schedule();
    return value;
  }

  /** For tests and operators: how many audit entries wait to be shipped. */
  async auditBacklog(): Promise<{ pending: number; attempts: number; nextAt: number; lastError: string | null }> {
    return this.shipping.backlog();
  }

  private guarded<T>(t: MemoryTarget, run: () => T): RpcResult<T> {
    if (!this.owns(t)) return fail(404, "Not Found", "no such memory scope");
    try {
      if (this.ctx.id.name !== undefined && this.store.meta("name") === null) this.store.setMeta("name", this.ctx.id.name);
      return ok(run());
    } catch (err) {
      if (err instanceof MemoryInputError) return fail(err.status, err.status === 404 ? "Not Found" : err.status === 409 ? "Conflict" : "Unprocessable Content", err.message);
      throw err;
    }
  }

  // ---------- RPC ----------

  async write(req: MemoryWriteRequest): Promise<RpcResult<MemoryWriteResult>> {
    const r = this.guarded(req, () => {
      const replay = req.idempotencyKey ? this.store.request(req.idempotencyKey) : null;
      if (replay) return { facts: this.store.factsByIds(replay.factIds), retired: replay.retired, conflicts: this.store.conflictsByIds(replay.conflictIds), replayed: true };
      const at = Date.now();
      return this.commit(req, at, () => {
        const changes: MemoryChange[] = [];
        for (const input of req.facts) {
          const planned = planWrite(input, this.store.current(input.subject, input.attribute), at, req.writer, this.store);
          this.store.apply(planned); // the next fact of the batch sees this one
          changes.push(...planned);
        }
        const result = summarizeWrite(changes, (ids) => this.store.conflictsByIds(ids));
        if (req.idempotencyKey) this.store.saveRequest(req.idempotencyKey, at, { factIds: result.facts.map((f) => f.id), retired: result.retired, conflictIds: result.conflicts.map((c) => c.id) });
        return { changes: [], value: result };
      }, (w) => writeAuditItems(req.writer, w.facts, w.retired, w.conflicts));
    });
    if (r.ok && r.value.conflicts.length) await this.pushIndex(req);
    return r;
  }

  async read(req: MemoryReadRequest): Promise<RpcResult<MemoryReadResult>> {
    return this.guarded(req, () => {
      const now = Date.now();
      const t = req.asOf ?? now;
      const v = req.validAt === undefined ? t : req.validAt;
      const held = this.store.held({ subject: req.subject, attributes: req.attributes, asOf: req.asOf });
      return { readAt: now, asOf: req.asOf ?? null, validAt: v, ...selectAt(held, t, v) };
    });
  }

  async conflicts(req: MemoryTarget & { status?: "open" | "resolved" | "all"; limit?: number }): Promise<RpcResult<MemoryConflictView[]>> {
    return this.guarded(req, () => this.store.listConflicts({ status: req.status ?? "open", limit: Math.min(Math.max(req.limit ?? 100, 1), 1000) }).map((c) => this.view(req.scope, c)));
  }

  async conflict(req: MemoryTarget & { conflictId: number }): Promise<RpcResult<MemoryConflictView>> {
    return this.guarded(req, () => {
      const c = this.store.conflictById(req.conflictId);
      if (!c) throw new MemoryInputError("no such conflict", 404);
      return this.view(req.scope, c);
    });
  }

  async resolve(req: MemoryTarget & { conflictId: number; resolution: ResolveRequest; by: string }): Promise<RpcResult<{ conflict: MemoryConflictView; facts: FactRecord[]; retired: Array<{ id: number; reason: string }> }>> {
    const r = this.guarded(req, () => {
      const at = Date.now();
      return this.commit(req, at, () => {
        const c = this.store.conflictById(req.conflictId);
        if (!c) throw new MemoryInputError("no such conflict", 404);
        const proposed = this.store.factById(c.proposedId)!;
        const others = this.store.openConflictsOf(c.proposedId).filter((o) => o.id !== c.id && o.proposedId === c.proposedId);
        const believed = this.store.current(c.subject, c.attribute).filter((f) => f.status === "believed");
        const changes = planResolution(c, proposed, believed, others, req.resolution, at, { kind: "person", id: req.by }, this.store);
        const s = summarizeWrite(changes, () => []);
        return { changes, value: { conflictId: c.id, facts: s.facts, retired: s.retired } };
      }, (v) => [{ type: "memory.resolved", by: { kind: "person", sub: req.by }, payload: { conflictId: v.conflictId, resolution: req.resolution.kind, ...(req.resolution.note ? { note: req.resolution.note } : {}), facts: v.facts.map((f) => f.id), retired: v.retired } }]);
    });
    if (!r.ok) return r;
    await this.pushIndex(req);
    return ok({ conflict: this.view(req.scope, this.store.conflictById(r.value.conflictId)!), facts: r.value.facts, retired: r.value.retired });
  }

  async retract(req: MemoryTarget & { factId: number; by: string; reason: string }): Promise<RpcResult<FactRecord>> {
    return this.guarded(req, () => {
      const at = Date.now();
      this.commit(req, at, () => ({ changes: planRetraction(this.store.factById(req.factId), this.store.openConflictsOf(req.factId), at, req.by, req.reason), value: null }), () => [{ type: "memory.retracted", by: { kind: "person", sub: req.by }, payload: { factId: req.factId, reason: req.reason } }]);
      return this.store.factById(req.factId)!;
    });
  }

  /** Right to erasure: removes every value of the subject (or one attribute), keeps tombstones with provenance. */
  async erase(req: MemoryTarget & { subject: string; attribute?: string; by: string; reason: string }): Promise<RpcResult<{ erased: number; tombstones: FactRecord[] }>> {
    const r = this.guarded(req, () => {
      const at = Date.now();
      const ids = this.commit(req, at, () => {
        const facts = this.store.allOf(req.subject, req.attribute);
        const open = new Map<number, ConflictRecord>();
        for (const f of facts) for (const c of this.store.openConflictsOf(f.id)) open.set(c.id, c);
        return { changes: planErasure(facts, [...open.values()], at, req.by, req.reason), value: facts.map((f) => f.id) };
      }, (erased) => [{ type: "memory.erased", by: { kind: "person", sub: req.by }, payload: { subject: req.subject, ...(req.attribute ? { attribute: req.attribute } : {}), reason: req.reason, factIds: erased } }]);
      return { erased: ids.length, tombstones: this.store.factsByIds(ids) };
    });
    if (r.ok) await this.pushIndex(req);
    return r;
  }

  async alarm(): Promise<void> {
    if (this.audit.size() > 0) this.shipping.schedule(true);
    const t = this.store.meta("target");
    if (t) await this.pushIndex(JSON.parse(t) as MemoryTarget);
  }

  // ---------- the tenant's conflict index ----------

  private view(scope: string, c: ConflictRecord): MemoryConflictView {
    const [existing, proposed] = this.store.factsByIds([c.existingId, c.proposedId]);
    return { ...c, scope, existing, proposed };
  }

  /** Sends conflicts not yet indexed to the tenant registry; on failure the alarm retries. */
  private async pushIndex(t: MemoryTarget): Promise<void> {
    if (this.store.meta("target") === null) this.store.setMeta("target", JSON.stringify({ tenant: t.tenant, scope: t.scope }));
    const pending = this.store.unindexedConflicts(500);
    if (!pending.length) return;
    try {
      await registryStub(this.env, t.tenant).indexMemoryConflicts(pending.map((c) => conflictIndexEntry(this.view(t.scope, c))));
      this.store.markIndexed(pending);
      if (pending.length === 500) await this.ctx.storage.setAlarm(Date.now());
    } catch {
      await this.ctx.storage.setAlarm(Date.now() + INDEX_RETRY_MS);
    }
  }
}

/** What a write or resolution did, from its changes. */
function summarizeWrite(changes: readonly MemoryChange[], conflictsByIds: (ids: number[]) => ConflictRecord[]): MemoryWriteResult {
  const facts: FactRecord[] = [];
  const retired: Array<{ id: number; reason: string }> = [];
  const conflictIds: number[] = [];
  for (const ch of changes) {
    if (ch.kind === "insert_fact") facts.push(ch.fact);
    if (ch.kind === "retire_fact") retired.push({ id: ch.id, reason: ch.reason });
    if (ch.kind === "insert_conflict") conflictIds.push(ch.conflict.id);
  }
  const retiredIds = new Set(retired.map((r) => r.id));
  // a record inserted and retired by the same write (a proposal accepted at once by a rule) is shown retired
  const shown = facts.map((f) => (retiredIds.has(f.id) ? { ...f, retiredAt: f.recordedAt, retiredReason: retired.find((r) => r.id === f.id)!.reason } : f));
  return { facts: shown, retired, conflicts: conflictsByIds(conflictIds), replayed: false };
}
