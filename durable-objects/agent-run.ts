/**
 * AgentRun: one Durable Object per run, the imperative shell around the pure interpreter.
 * It appends events in one transactionSync (with their timers and outbox rows), executes the
 * calls `decide` asks for, records their results, and keeps the single alarm armed at the
 * earliest timer. A lease timer is armed while it works, so a crash mid-step is resumed by the
 * alarm; in-flight calls found at load time are recorded as interrupted (run.recovered).
 */
import { DurableObject } from "cloudflare:workers";
import { CallFailure } from "../src/engine/call-failure.ts";
import { decide, runScope, type Decision } from "../src/engine/decide.ts";
import { parseEvent, type Actor, type NewEvent, type RunEvent } from "../src/engine/events.ts";
import { apply, applyNew, initialState, parsedWorkflow } from "../src/engine/fold.ts";
import { approvalById, isLiveTimer, type CallState, type LoadedPolicy, type RunState } from "../src/engine/run-state.ts";
import { contentHash } from "../src/engine/canonical-json.ts";
import { approvalEmail } from "../src/approvals/approval-email.ts";
import { indexEntry, recipientsFor, type ApprovalIndexEntry } from "../src/approvals/approval-index.ts";
import { mintApprovalLink, type LinkClaims } from "../src/approvals/approval-link.ts";
import { eligibility, tally, type ApprovalLevel, type ApprovalState } from "../src/approvals/approval-state.ts";
import { emailSenderFor, type EmailEnv, type OutgoingEmail } from "../src/notifications/email-sender.ts";
import { settled, summarize, type RunSummary } from "../src/engine/run-summary.ts";
import { fail, ok, type RpcResult } from "../src/engine/rpc-result.ts";
import { providerFor } from "../src/providers/provider-for.ts";
import { RunLogStore, type StoredEventRow } from "../src/storage/run-log-store.ts";
import { globalRegistryStub, registryStub } from "../src/api/stubs.ts";
import { executeTool } from "../src/tools/execute-tool.ts";
import { auditRecordForEvent } from "../src/audit/run-audit.ts";
import { AuditShipping, auditWriterFor } from "../src/audit/audit-shipper.ts";
import { AuditOutboxStore } from "../src/storage/audit-outbox-store.ts";
import { outboundFetch, parseHostMap } from "../src/tools/outbound.ts";
import { executeMemory } from "../src/memory/execute-memory.ts";
import { prepareBreachNotice, requestSlices, returnSlice } from "../src/budget/budget-client.ts";
import { breachFacts, sliceReturnJobs, type SliceReturnJob } from "../src/budget/settlement.ts";
import type { BreachFacts } from "../src/budget/breach-notice.ts";
import { pendingSettlements, type OpenReservation, type SliceRequest } from "../src/budget/run-budget.ts";
import type { Slice } from "../src/budget/slices.ts";
import type { Cap } from "../src/budget/budget-limits.ts";

/** The interpreter behaviours new runs start with (recorded in run.started: older logs replay without them). */
const ENGINE_BEHAVIOURS = { admissionSlice: true };
const LEASE_MS = 30_000;
/** after a request that lets the run continue, the alarm takes over if the work has not started by then */
const KICK_FALLBACK_MS = 1_000;
const POLICY_CACHE_MS = 1_000;
/** the longest a `summary` call waits for the run to settle */
export const MAX_SUMMARY_WAIT_MS = 60_000;
/** Policy sets read from the registries, shared by the runs of this isolate for a second. */
const policyCache = new Map<string, { at: number; entries: LoadedPolicy["entries"]; loaded: Map<string, LoadedPolicy> }>();
const MAX_EVENTS_PER_TRANSACTION = 200;
const MAX_TRANSACTIONS_PER_TURN = 50;
const LEASE = "lease";
const OUTBOX = "outbox";
const AUDIT = "audit";

export interface StartRequest {
  runId: string;
  tenant: string;
  workflow: { id: string; version: number; hash: string };
  document: unknown;
  input: unknown;
  actor: Actor;
  requestHash: string;
}

export type ApprovalView = ApprovalIndexEntry & {
  runStatus: string;
  decisions: Array<{ by: string; decision: string; via: string; at: string; comment?: string }>;
  activeLevel: number;
  levels: ApprovalLevel[];
};

export type ControlAction = "pause" | "resume" | "halt";
export interface Fault {
  /**
   * after-append: die right after the event with this seq is committed; after-effect: die after
   * a call returns, before its result is recorded; after-audit-ship: die after the audit
   * database accepted a batch, before the outbox forgets it (seq: once the run reached it).
   */
  at: "after-append" | "after-effect" | "after-audit-ship";
  seq: number;
  /** abort: hard kill (ctx.abort); stop: stop working and wait for the test to evict the object. */
  how: "abort" | "stop";
}

export class AgentRun extends DurableObject<Env> {
  private readonly store: RunLogStore;
  private readonly audit: AuditOutboxStore;
  private readonly shipping: AuditShipping;
  private state: RunState | null = null;
  private working = false;
  /** The slice request sent ahead (at admission), until its answer is recorded. */
  private asking: { sliceId: string; answer: Promise<NewEvent> } | null = null;
  private inflight: AbortController | null = null;
  private fault: Fault | null = null;
  private stopped = false;
  /** The alarm time last set (undefined: unknown, e.g. after the alarm fired). */
  private alarmAt: number | null | undefined = undefined;
  /** `summary` calls waiting for the run to settle, woken by the commit that settles it. */
  private readonly settleWaiters = new Set<() => void>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RunLogStore(ctx.storage.sql);
    this.audit = new AuditOutboxStore(ctx.storage.sql);
    this.shipping = new AuditShipping({
      outbox: this.audit,
      ctx,
      store: () => auditWriterFor(env, ctx.id.toString()),
      retry: (at) => {
        if (at === null) this.store.deleteTimer(AUDIT);
        else this.store.setTimer(AUDIT, at, "audit");
        this.armAlarm();
      },
      hooks: {
        shipped: () => {
          if (this.fault?.at === "after-audit-ship" && (this.state?.seq ?? 0) >= this.fault.seq) this.trip();
        },
      },
    });
    ctx.blockConcurrencyWhile(async () => this.load());
  }

  /** Fold the stored log once; after that the state is kept in memory and folded incrementally. */
  private load(): void {
    let s: RunState | null = null;
    for (const row of this.store.allEvents()) {
      const e = parseEvent(row, `stored event ${row.seq}`);
      s = s ? apply(s, e) : initialState(e);
    }
    this.state = s;
    if (s && s.call?.phase === "started") {
      // A previous instance died between starting a call and recording its result (also in a run
      // halted meanwhile: the call may have been billed, and its reservation must be settled).
      this.append([{ type: "run.recovered", data: { interrupted: [s.call.callId] } }]);
    }
    const now = this.state;
    if (now && (pendingSettlements(now).length > 0 || (!now.terminal && !now.paused && !now.attention && now.status === "running"))) {
      this.store.setTimer(LEASE, Date.now(), "lease");
      this.armAlarm();
    }
    // audit entries a previous instance did not get to ship
    if (this.audit.size() > 0) {
      this.store.setTimer(AUDIT, Math.max(Date.now(), this.audit.nextShipAt()), "audit");
      this.armAlarm();
    }
  }

  private hostMap: ReturnType<typeof parseHostMap> | null = null;
  private get hosts() {
    return (this.hostMap ??= parseHostMap(this.env.OUTBOUND_HOSTS));
  }

  /** Appends events atomically with their timers and outbox rows; the fold happens first so a bad event writes nothing. */
  private append(events: NewEvent[], inside?: () => void): RunEvent[] {
    const s0 = this.state;
    if (!s0) throw new Error("append before run.started");
    const full: RunEvent[] = [];
    const s = applyNew(s0, events, Math.max(Date.now(), s0.lastAt), full);
    this.commit(s0, full, s, inside);
    return full;
  }

  /**
   * Decides as far as the interpreter can without I/O and records all of it in one
   * transaction: a step is one transaction before its call and one after.
   */
  private decideAndCommit(): Decision {
    const s0 = this.state!;
    const at = Math.max(Date.now(), s0.lastAt);
    let s = s0;
    const full: RunEvent[] = [];
    let d = decide(s);
    while (d.kind === "append" && full.length < MAX_EVENTS_PER_TRANSACTION) {
      s = applyNew(s, d.events, at, full);
      d = decide(s);
    }
    if (full.length) this.commit(s0, full, s);
    return d;
  }

  private commit(s0: RunState, full: RunEvent[], s: RunState, inside?: () => void): void {
    this.transaction(() => {
      // each event's audit entry, chained and queued with the event itself
      this.audit.append(full.map((e) => auditRecordForEvent(s, e)));
      const at = full[full.length - 1].at;
      const touched = new Set<string>();
      for (const e of full) {
        this.store.insertEvent(e);
        if (e.type === "timer.scheduled") this.store.setTimer(e.data.timerId, e.data.fireAt, "event");
        if (e.type === "timer.fired") this.store.deleteTimer(e.data.timerId);
        // notifications go out through the outbox, written with the event that causes them
        if (e.type === "approval.requested") this.store.enqueue("notify", { approvalId: e.data.approvalId, level: 0 }, at);
        if (e.type === "approval.escalated") this.store.enqueue("notify", { approvalId: e.data.approvalId, level: e.data.level }, at);
        if (e.type === "approval.reassigned") this.store.enqueue("notify", { approvalId: e.data.approvalId, level: -1 }, at);
        if (e.type.startsWith("approval.") && e.type !== "approval.viewed") touched.add((e.data as { approvalId: string }).approvalId);
        const breach = breachFacts(s, e);
        if (breach) this.store.enqueue("budget-notify", breach, at);
      }
      // slices these events retired go back to their Budget objects through the outbox
      for (const job of sliceReturnJobs(s0, s)) this.store.enqueue("budget-return", job, at);
      if (s.terminal && !s0.terminal && s.cursor?.approval) touched.add(s.cursor.approval.approvalId);
      for (const id of touched) this.enqueueApprovalIndex(s, id, at);
      if (s.status !== s0.status || s.terminal !== s0.terminal) this.store.enqueue("index", summarize(s), at);
      inside?.();
    });
    this.state = s;
    if (this.settleWaiters.size && settled(s)) for (const wake of [...this.settleWaiters]) wake();
    if (this.fault?.at === "after-append" && s.seq >= this.fault.seq) this.trip();
    this.scheduleAuditShip();
  }

  /** transactionSync; on a rollback the audit chain heads cached in memory are dropped too. */
  private transaction(fn: () => void): void {
    this.audit.transaction(this.ctx.storage, fn);
  }

  /** Fault injection (tests only): a hard abort kills the object; a stop leaves it idle until the test evicts it. */
  private enqueueApprovalIndex(s: RunState, approvalId: string, at: number): void {
    const a = approvalById(s, approvalId);
    if (!a) return;
    const entry = indexEntry(a, s.runId, s.workflow.id, s.seq);
    if (s.terminal && entry.status === "pending") entry.status = `run_${s.terminal}`;
    this.store.enqueue("approval-index", { tenant: s.tenant, entry }, at);
  }

  private trip(): void {
    const how = this.fault!.how;
    this.fault = null;
    if (how === "abort") this.ctx.abort("fault injection");
    this.stopped = true;
  }

  /** Keeps the one alarm at the earliest timer; remembers what it set so an unchanged alarm costs no storage call. */
  private armAlarm(): void {
    const t = this.store.earliestTimer();
    if (t === this.alarmAt) return;
    if (t === null) void this.ctx.storage.deleteAlarm();
    else void this.ctx.storage.setAlarm(t);
    this.alarmAt = t;
  }

  // ---------- RPC ----------

  async start(req: StartRequest): Promise<RpcResult<{ created: boolean; run: RunSummary }>> {
    if (this.state) {
      if (this.state.tenant !== req.tenant) return fail(409, "Conflict", "run id already in use");
      if (this.state.requestHash !== req.requestHash) return fail(409, "Idempotency key reused", "this Idempotency-Key was already used for a different request (workflow or input differ)");
      this.ctx.waitUntil(this.deliverOutbox()); // a start that died before its index delivery: the retry gets it delivered (in the background: other due rows may be slow emails)
      return ok({ created: false, run: summarize(this.state) });
    }
    const doc = parsedWorkflow(req.workflow.hash, req.document);
    const first = { seq: 1, type: "run.started", at: Date.now(), data: { ...req, document: doc, engine: ENGINE_BEHAVIOURS } } as RunEvent;
    const s1 = initialState(first);
    // The policy set is loaded before anything is written, so even the run's first audit entry
    // is redacted and retained as the policies in force say (the registries unreadable: no run).
    const loaded = await this.policySet(s1);
    if (this.state) return this.start(req); // a concurrent start won while the policy set loaded
    const second = { seq: 2, type: "policy.loaded", at: first.at, data: loaded } as RunEvent;
    let s = apply(s1, second);
    const started = [first, second];
    // a run whose first node is a model call asks for its first slice with its start (the interpreter's first decision)
    const d = decide(s);
    if (d.kind === "append" && d.events[0].type === "budget.slice_requested") s = applyNew(s, [d.events[0]], first.at, started);
    // The tenant's index hears of the run (through the outbox, so a failed delivery is retried)
    // before the run takes its first step and before the client hears of it: a listing never
    // misses a run that is already acting. Then the run starts working (the lease alarm takes
    // over if this instance dies); if it dies before answering, the client retries with its
    // Idempotency-Key. Indexing first also keeps the index's write out of the run's first steps
    // (its first slice round trip was about 1 ms slower with the index written alongside).
    this.transaction(() => {
      for (const e of started) this.store.insertEvent(e);
      this.audit.append(started.map((e) => auditRecordForEvent(s, e)));
      this.store.setTimer(LEASE, first.at + LEASE_MS, "lease");
      this.store.enqueue("index", summarize(s), first.at);
    });
    this.state = s;
    this.armAlarm(); // the lease alarm takes over if this instance dies from here on
    if (s.budget.request) this.sendSliceRequest(s.budget.request); // answered while the run indexes itself and takes its first step
    this.scheduleAuditShip();
    await this.deliverOutbox();
    this.armAlarm();
    this.ctx.waitUntil(this.drive());
    return ok({ created: true, run: summarize(s) });
  }

  /**
   * The run's summary; with `waitMs`, once the run has settled (src/engine/run-summary.ts
   * `settled`) or after `waitMs` (at most a minute), whichever comes first. The answer leaves only
   * once what it reports is durable (workerd's output gate), as every answer here.
   */
  async summary(tenant: string, waitMs = 0): Promise<RpcResult<RunSummary>> {
    if (!this.state || this.state.tenant !== tenant) return fail(404, "Not Found", "no such run");
    if (waitMs > 0 && !settled(this.state)) await this.untilSettled(Math.min(waitMs, MAX_SUMMARY_WAIT_MS));
    return ok(summarize(this.state));
  }

  private untilSettled(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.settleWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.settleWaiters.add(wake);
    });
  }

  async events(tenant: string, afterSeq: number, limit: number): Promise<RpcResult<StoredEventRow[]>> {
    if (!this.state || this.state.tenant !== tenant) return fail(404, "Not Found", "no such run");
    return ok(this.store.readEvents(afterSeq, Math.min(Math.max(limit, 1), 1000)));
  }

  async control(tenant: string, action: ControlAction, actor: Actor, reason?: string): Promise<RpcResult<RunSummary>> {
    const s = this.state;
    if (!s || s.tenant !== tenant) return fail(404, "Not Found", "no such run");
    if (s.terminal) return fail(409, "Conflict", `run is ${s.terminal}; it cannot ${action}`);
    if (action === "pause") {
      if (s.paused) return fail(409, "Conflict", "run is already paused");
      this.append([{ type: "run.paused", data: { actor, ...(reason ? { reason } : {}) } }]);
    } else if (action === "resume") {
      if (!s.paused) return fail(409, "Conflict", s.attention ? "run needs attention: resolve it with POST /v1/runs/:id/resolve" : "run is not paused");
      this.append([{ type: "run.resumed", data: { actor } }]);
      this.kick();
    } else {
      this.append([{ type: "run.halted", data: { actor, ...(reason ? { reason } : {}) } }]);
      this.inflight?.abort("run halted");
      // a halt decides the settlement of what the run had reserved: record it (a call in flight settles when its outcome is recorded)
      if (!this.working && pendingSettlements(this.state!).length > 0) this.kick();
    }
    await this.deliverOutbox();
    return ok(summarize(this.state!));
  }

  async resolve(tenant: string, actor: Actor, action: "retry" | "fail" | "complete", result?: unknown, comment?: string): Promise<RpcResult<RunSummary>> {
    const s = this.state;
    if (!s || s.tenant !== tenant) return fail(404, "Not Found", "no such run");
    if (!s.attention) return fail(409, "Conflict", `run is ${s.status}; only a run that needs attention can be resolved`);
    this.append([{ type: "run.attention_resolved", data: { actor, action, ...(result !== undefined ? { result } : {}), ...(comment ? { comment } : {}) } }]);
    this.kick();
    return ok(summarize(this.state!));
  }

  async injectFault(fault: Fault | null): Promise<void> {
    if (this.env.WARDEN_FAULT_INJECTION !== "1") throw new Error("fault injection is disabled");
    this.fault = fault;
    this.stopped = false;
  }

  // ---------- the loop ----------

  /**
   * Work resumes as soon as what the request recorded (a decision, a resume) is durable, in
   * the background like after a start: the request's answer only ever reports what is durable,
   * and the work that follows runs after it. If this instance dies first, the lease timer
   * brings the work back from the alarm a moment later.
   */
  private kick(): void {
    this.store.setTimer(LEASE, Date.now() + KICK_FALLBACK_MS, "lease");
    this.armAlarm();
    this.ctx.waitUntil(this.ctx.storage.sync().then(() => this.drive()));
  }

  async alarm(): Promise<void> {
    this.alarmAt = undefined; // the runtime cleared the alarm that fired
    if (this.store.dueTimers(Date.now()).some((t) => t.id === AUDIT)) {
      this.store.deleteTimer(AUDIT);
      this.scheduleAuditShip(true);
    }
    if (this.working || this.stopped) {
      // busy with a long call (or stopped by a test): extend the lease instead of spinning on a due timer
      this.store.setTimer(LEASE, Date.now() + LEASE_MS, "lease");
      this.armAlarm();
      return;
    }
    const now = Date.now();
    for (const t of this.store.dueTimers(now)) {
      if (t.purpose === "event") {
        const s = this.state;
        const relevant = s && isLiveTimer(s, t.id);
        if (relevant) this.append([{ type: "timer.fired", data: { timerId: t.id } }]);
        else this.store.deleteTimer(t.id);
      } else {
        this.store.deleteTimer(t.id);
      }
    }
    await this.drive();
  }

  /**
   * Makes sure the run decides with the policy set in force: global (platform), tenant and
   * workflow policies from the registries plus the workflow document's own. A change is recorded
   * as `policy.loaded` with the set's hash. Read through a one-second isolate cache; if the
   * registries cannot be read the run does not proceed (fails closed, retried by the alarm).
   */
  private async refreshPolicy(): Promise<void> {
    const s = this.state;
    if (!s || s.terminal) return;
    const loaded = await this.policySet(s);
    const now = this.state!;
    if (now.terminal || now.policy?.hash === loaded.hash) return;
    this.append([{ type: "policy.loaded", data: loaded }]);
  }

  /** The policy set in force for this run now (see refreshPolicy). */
  private async policySet(s: RunState): Promise<LoadedPolicy> {
    const key = `${s.tenant}/${s.workflow.id}`;
    let hit = policyCache.get(key);
    if (!hit || Date.now() - hit.at > POLICY_CACHE_MS) {
      const [global, set] = await Promise.all([globalRegistryStub(this.env).getPolicy("global"), registryStub(this.env, s.tenant).policySet(s.workflow.id)]);
      const entries: LoadedPolicy["entries"] = [];
      if (global) entries.push({ level: "global", version: global.version, policy: global.policy });
      if (set.tenant) entries.push({ level: "tenant", version: set.tenant.version, policy: set.tenant.policy });
      if (set.workflow) entries.push({ level: "workflow", version: set.workflow.version, policy: set.workflow.policy });
      hit = { at: Date.now(), entries, loaded: new Map() };
      if (policyCache.size > 1000) policyCache.clear();
      policyCache.set(key, hit);
    }
    // the set (with the document's own policies) and its hashes, computed once per cached read and workflow version
    let loaded = hit.loaded.get(s.workflow.hash);
    if (!loaded) {
      const entries = s.doc.policy ? [...hit.entries, { level: "workflow" as const, version: null, policy: s.doc.policy }] : hit.entries;
      const hash = await contentHash(entries);
      const nodeHashes: Record<string, string> = {};
      for (const [id, node] of Object.entries(s.doc.nodes)) if ("policy" in node && node.policy) nodeHashes[id] = await contentHash({ set: hash, node: node.policy });
      loaded = { hash, nodeHashes, entries };
      hit.loaded.set(s.workflow.hash, loaded);
    }
    return loaded;
  }

  /**
   * Makes sure the lease timer will bring the work back if this instance dies: renewed only when
   * missing or more than half gone. Renewing on every drive moved the alarm each time, and each
   * move is a write and an alarm commit on the run's critical path (an early lease alarm while
   * the run works only extends the lease).
   */
  private renewLease(): void {
    const due = this.store.timerDue(LEASE);
    const now = Date.now();
    if (due !== null && due > now + LEASE_MS / 2) return;
    this.store.setTimer(LEASE, now + LEASE_MS, "lease");
    this.armAlarm();
  }

  private async drive(): Promise<void> {
    if (this.working || this.stopped) return;
    this.working = true;
    try {
      await this.refreshPolicy();
      this.renewLease();
      let transactions = 0;
      for (;;) {
        if (!this.state || this.stopped) break;
        const d = this.decideAndCommit();
        if (this.stopped) break;
        if (d.kind === "append") {
          // a very long run of pure decisions: yield, and continue on the next alarm
          if (++transactions >= MAX_TRANSACTIONS_PER_TURN) {
            this.store.setTimer(LEASE, Date.now(), "lease");
            return;
          }
          continue;
        }
        if (d.kind === "execute") {
          await this.execute(this.state!, d.call);
          continue;
        }
        if (d.kind === "reserve") {
          // a run waiting for room asks again only when its wait is over (an early alarm must not use up its asks)
          if (d.request.deferred > 0 && d.request.retryAt !== null && d.request.retryAt > Date.now()) {
            this.store.setTimer(LEASE, d.request.retryAt, "lease");
            return;
          }
          if (await this.askForSlices(d.request)) continue;
          return; // no slice yet (the Budget object unreachable, or no room yet): nothing is spent, the lease alarm asks again at the retry time
        }
        break;
      }
      this.store.deleteTimer(LEASE);
    } finally {
      this.working = false;
      if (!this.stopped) {
        await this.deliverOutbox();
        this.armAlarm();
      }
    }
  }

  private async execute(s: RunState, call: CallState): Promise<void> {
    const controller = new AbortController();
    this.inflight = controller;
    const began = Date.now();
    const env = this.env as unknown as Record<string, unknown>;
    let outcome: NewEvent;
    try {
      if (call.kind === "llm") {
        const response = await providerFor(s.doc).complete(this.cappedRequest(s, call), { doc: s.doc, scope: runScope(s), idempotencyKey: call.idempotencyKey, callId: call.callId, env, hosts: this.hosts, signal: controller.signal });
        outcome = { type: "llm.completed", data: { node: call.node, callId: call.callId, response, durationMs: Date.now() - began } };
      } else if (call.kind === "memory") {
        outcome = await executeMemory(this.env, s, call, began);
      } else {
        const result = await executeTool(s.doc, { name: call.tool!, args: call.args, idempotencyKey: call.idempotencyKey, scope: runScope(s), env, hosts: this.hosts, signal: controller.signal });
        outcome = { type: "tool.completed", data: { node: call.node, callId: call.callId, result, durationMs: Date.now() - began } };
      }
    } catch (err) {
      const f = err instanceof CallFailure ? err : new CallFailure(`unexpected error: ${(err as Error).message}`, { retryable: false });
      const error = { message: f.message, retryable: f.retryable, ...(f.status ? { status: f.status } : {}), ...(f.retryAfterMs !== undefined ? { retryAfterMs: f.retryAfterMs } : {}) };
      const failed = { node: call.node, callId: call.callId, error, durationMs: Date.now() - began };
      outcome = call.kind === "llm" ? { type: "llm.failed", data: failed } : call.kind === "memory" ? { type: "memory.failed", data: failed } : { type: "tool.failed", data: failed };
    } finally {
      this.inflight = null;
    }
    if (this.fault?.at === "after-effect" && this.state!.seq >= this.fault.seq) {
      this.trip();
      return;
    }
    this.append([outcome]);
  }

  // ---------- budgets ----------

  /**
   * Asks the shared budgets for the slice the recorded request is for, and records the answer.
   * The request was written first (with the step's other decisions, in the transaction the step
   * writes anyway), so a run that dies meanwhile asks again with the same slice id, or releases
   * it as it ends; the Budget object answers a repeated ask as it did the first.
   */
  private async askForSlices(r: SliceRequest): Promise<boolean> {
    const outcome = await (this.asking?.sliceId === r.sliceId ? this.asking.answer : requestSlices(this.env, this.state!.runId, r, () => Date.now()));
    if (this.stopped || !this.state || this.state.terminal) return false; // a grant the run no longer records is released as it ends (retireIdleSlices)
    if (this.state.budget.request?.sliceId !== r.sliceId) return true; // already recorded (a request sent ahead records its own answer)
    this.append([outcome]);
    return this.budgetAnswered(outcome);
  }

  /**
   * Sends a recorded slice request ahead of the call that needs it and records the answer when it
   * comes, unless the run's drive, waiting at the call for the same request, records it first.
   * Nothing is lost if this instance dies meanwhile: the request is in the log, and the drive asks
   * again with the same slice id (the Budget object answers a repeated ask as it did the first).
   */
  private sendSliceRequest(r: SliceRequest): void {
    const answer = requestSlices(this.env, this.state!.runId, r, () => Date.now());
    this.asking = { sliceId: r.sliceId, answer };
    this.ctx.waitUntil(
      answer.then((outcome) => {
        if (this.asking?.sliceId === r.sliceId) this.asking = null;
        if (this.stopped || !this.state || this.state.terminal || this.state.budget.request?.sliceId !== r.sliceId) return;
        this.append([outcome]);
        if (!this.working && this.state.status !== "running") this.kick(); // the run stopped meanwhile (say, to wait for a person): the slice it no longer holds goes back now
      }),
    );
  }

  /** True when the run can go on; after `budget.unavailable` or `budget.deferred` the lease timer is set to when to ask again. */
  private budgetAnswered(answer: NewEvent): boolean {
    if (answer.type !== "budget.unavailable" && answer.type !== "budget.deferred") return true;
    this.store.setTimer(LEASE, answer.data.retryAt, "lease");
    return false;
  }

  /** The request as sent: with the output cap the call was reserved for, so the provider cannot spend past it. */
  private cappedRequest(s: RunState, call: CallState): NonNullable<CallState["request"]> {
    const request = call.request!;
    if (request.maxTokens) return request;
    const r = Object.values(s.budget.open).find((o) => o.callId === call.callId && o.attempt === call.attempt);
    return r ? { ...request, maxTokens: r.estimate.outputTokens } : request;
  }

  /** Per-run budget limits set on this run through the API (`PUT /v1/budgets/runs/:id`): an event, so replay and the audit trail see them. */
  async setBudget(tenant: string, cap: Cap, actor: Actor): Promise<RpcResult<RunSummary>> {
    const s = this.state;
    if (!s || s.tenant !== tenant) return fail(404, "Not Found", "no such run");
    if (s.terminal) return fail(409, "Conflict", `run is ${s.terminal}; its budget can no longer change`);
    this.append([{ type: "budget.limits_set", data: { actor, limits: cap } }]);
    this.kick();
    return ok(summarize(this.state!));
  }

  /** The run's spend, its own cap, its open reservations and the slices of the shared budgets it holds. */
  async budget(tenant: string): Promise<RpcResult<{ spent: RunState["budget"]["spent"]; cap: Cap | null; open: OpenReservation[]; slices: Slice[]; status: string; halt: RunState["halt"] | null }>> {
    const s = this.state;
    if (!s || s.tenant !== tenant) return fail(404, "Not Found", "no such run");
    return ok({ spent: s.budget.spent, cap: s.budget.cap, open: Object.values(s.budget.open), slices: Object.values(s.budget.slices), status: s.status, halt: s.halt ?? null });
  }

  /** A slice return the outbox delivers: acknowledged by its Budget object, then recorded with the outbox row's acknowledgement. */
  private async deliverSliceReturn(outboxId: number, job: SliceReturnJob): Promise<void> {
    const returned = await returnSlice(this.env, job);
    this.append(returned, () => this.store.ackOutbox(outboxId));
  }

  /** A breach notice: its emails (and webhook) are queued in one transaction with the acknowledgement. */
  private async prepareBreachNotice(outboxId: number, facts: BreachFacts): Promise<void> {
    const notice = await prepareBreachNotice(this.env, facts);
    this.ctx.storage.transactionSync(() => {
      for (const m of notice.emails) this.store.enqueue("email", m, Date.now());
      if (notice.webhook) this.store.enqueue("budget-webhook", notice.webhook, Date.now());
      this.store.ackOutbox(outboxId);
    });
  }

  // ---------- approvals ----------

  /** Resolves who to notify, mints one signed link each, and records `approval.notified` with the emails in one transaction. */
  private async prepareNotifications(outboxId: number, job: { approvalId: string; level: number }): Promise<void> {
    const s = this.state!;
    const a = approvalById(s, job.approvalId);
    if (!a || a.status !== "pending" || s.terminal) {
      this.store.ackOutbox(outboxId);
      return;
    }
    const set = job.level === -1 ? a.reassigned!.set : a.levels.find((l) => l.level === job.level)!;
    const directory = await registryStub(this.env, s.tenant).directory();
    const recipients = recipientsFor(set, directory, a.excluded);
    const ttl = Number(this.env.APPROVAL_LINK_TTL || 86_400);
    const base = (this.env.PUBLIC_URL || "http://127.0.0.1:8787").replace(/\/$/, "");
    const mails: OutgoingEmail[] = [];
    for (const r of recipients) {
      if (!r.email) continue;
      const token = await mintApprovalLink({ sub: r.id, run: s.runId, approval: a.approvalId }, this.env.WARDEN_JWT_SECRET, ttl);
      mails.push(approvalEmail({ to: r.email, messageId: `${a.approvalId}.${job.level}.${r.id.replace(/[^\w.-]/g, "_")}@warden`, workflow: s.workflow.id, runId: s.runId, approvalId: a.approvalId, context: a.context, link: `${base}/approvals/link/${token}`, level: Math.max(job.level, 0), expiresAt: new Date(Date.now() + ttl * 1000).toISOString() }));
    }
    const channel = (this.env as unknown as EmailEnv).EMAIL_TRANSPORT || "smtp";
    this.append([{ type: "approval.notified", data: { approvalId: a.approvalId, level: job.level, recipients, channel } }], () => {
      for (const m of mails) this.store.enqueue("email", m, Date.now());
      this.store.ackOutbox(outboxId);
    });
  }

  private approvalFor(tenant: string | null, approvalId: string): RpcResult<ApprovalState> {
    const s = this.state;
    if (!s || (tenant !== null && s.tenant !== tenant)) return fail(404, "Not Found", "no such approval");
    const a = approvalById(s, approvalId);
    return a ? ok(a) : fail(404, "Not Found", "no such approval");
  }

  async approval(tenant: string, approvalId: string): Promise<RpcResult<ApprovalView>> {
    const r = this.approvalFor(tenant, approvalId);
    return r.ok ? ok(this.view(r.value)) : r;
  }

  private view(a: ApprovalState): ApprovalView {
    const s = this.state!;
    const entry = indexEntry(a, s.runId, s.workflow.id, s.seq);
    // a decision that completes the quorum is answered with the outcome it produces (resolution follows on the alarm)
    if (entry.status === "pending") entry.status = tally(a) ?? (a.cancelled ? "cancelled" : "pending");
    return { ...entry, runStatus: s.status, decisions: a.decisions.map((d) => ({ ...d, at: new Date(d.at).toISOString() })), activeLevel: a.activeLevel, levels: a.levels };
  }

  /** The link's GET: shows the approval and records that the approver opened it; decides nothing. */
  async viewApproval(link: LinkClaims): Promise<RpcResult<ApprovalView>> {
    const r = this.approvalFor(null, link.approval);
    if (!r.ok) return r;
    if (this.state!.runId !== link.run) return fail(404, "Not Found", "no such approval");
    if (this.store.linkUsed(link.jti)) return fail(409, "Link already used", "this link has already been used to decide; each link works once");
    if (r.value.status === "pending" && !this.state!.terminal) this.append([{ type: "approval.viewed", data: { approvalId: link.approval, by: link.sub, via: "link" } }]);
    return ok(this.view(approvalById(this.state!, link.approval) ?? r.value));
  }

  /** A decision from the link, the API or the CLI. Checked, recorded, and the run resumes from the alarm. */
  async decideApproval(req: { tenant: string | null; approvalId: string; who: { sub: string; roles: string[] }; decision: "approve" | "reject"; comment?: string; via: "link" | "api" | "cli"; jti?: string; run?: string }): Promise<RpcResult<ApprovalView>> {
    if (req.via === "link" && this.state) {
      // the link carries no roles: record the approver's directory roles, as for API decisions
      req = { ...req, who: { sub: req.who.sub, roles: await registryStub(this.env, this.state.tenant).rolesOf(req.who.sub) } };
    }
    // checked after any await, so a concurrent decision is seen
    const r = this.approvalFor(req.tenant, req.approvalId);
    if (!r.ok) return r;
    if (req.run && req.run !== this.state!.runId) return fail(404, "Not Found", "no such approval");
    if (req.jti && this.store.linkUsed(req.jti)) return fail(409, "Link already used", "this link has already been used to decide; each link works once");
    if (this.state!.terminal) return fail(409, "Conflict", `the run is ${this.state!.terminal}; its approval can no longer be decided`);
    const ok_ = eligibility(r.value, req.who);
    if (!ok_.ok) return fail(ok_.status, ok_.status === 403 ? "Forbidden" : "Conflict", ok_.reason);
    const jti = req.jti;
    this.append([{ type: "approval.decided", data: { approvalId: req.approvalId, by: req.who.sub, roles: req.who.roles, decision: req.decision, via: req.via, ...(req.comment ? { comment: req.comment } : {}) } }], jti ? () => this.store.consumeLink(jti, Date.now()) : undefined);
    this.kick();
    return ok(this.view(approvalById(this.state!, req.approvalId)!));
  }

  async reassignApproval(tenant: string, approvalId: string, actor: Actor, to: { users: string[]; roles: string[] }, reason?: string): Promise<RpcResult<ApprovalView>> {
    const r = this.approvalFor(tenant, approvalId);
    if (!r.ok) return r;
    if (r.value.status !== "pending" || this.state!.terminal) return fail(409, "Conflict", `approval ${approvalId} is ${r.value.status}; only a pending approval can be reassigned`);
    this.append([{ type: "approval.reassigned", data: { approvalId, actor, to, ...(reason ? { reason } : {}) } }]);
    await this.deliverOutbox();
    return ok(this.view(approvalById(this.state!, approvalId)!));
  }

  async cancelApproval(tenant: string, approvalId: string, actor: Actor, reason?: string): Promise<RpcResult<ApprovalView>> {
    const r = this.approvalFor(tenant, approvalId);
    if (!r.ok) return r;
    if (r.value.status !== "pending" || this.state!.terminal) return fail(409, "Conflict", `approval ${approvalId} is ${r.value.status}; only a pending approval can be cancelled`);
    this.append([{ type: "approval.cancelled", data: { approvalId, actor, ...(reason ? { reason } : {}) } }]);
    this.kick();
    return ok(this.view(approvalById(this.state!, approvalId)!));
  }

  // ---------- audit ----------

  private scheduleAuditShip(force = false): void {
    if (!this.stopped) this.shipping.schedule(force);
  }

  /** For tests and operators: how many audit entries wait to be shipped, and the shipper's backoff. */
  async auditBacklog(): Promise<{ pending: number; attempts: number; nextAt: number; lastError: string | null }> {
    return this.shipping.backlog();
  }

  // ---------- outbox ----------

  private delivering: Promise<void> | null = null;

  /** One delivery at a time: concurrent callers share the pass in progress, so no row is sent twice. */
  private deliverOutbox(): Promise<void> {
    this.delivering ??= (async () => {
      try {
        // a few rounds, so rows enqueued by a delivery (a notification's emails) go out at once
        for (let round = 0; round < 3; round++) if (!(await this.deliverOutboxRound())) break;
      } finally {
        this.delivering = null;
      }
    })();
    return this.delivering;
  }

  private async deliverOutboxRound(): Promise<boolean> {
    const now = Date.now();
    const rows = this.store.dueOutbox(now, 50);
    // nothing due: every row is enqueued due at once, so what remains is waiting on a retry whose
    // timer the round that scheduled it has already set (this runs after every drive)
    if (!rows.length) return false;
    // index updates are snapshots: only the newest per run / per approval needs to travel
    const newest = new Map<string, number>();
    for (const row of rows) {
      if (row.kind === "index") newest.set("run", row.id);
      if (row.kind === "approval-index") newest.set(`approval:${(JSON.parse(row.payload) as { entry: { approvalId: string } }).entry.approvalId}`, row.id);
    }
    const keep = new Set(newest.values());
    // index acknowledgements are written together at the end (a redelivery is harmless: the index keeps the newest seq)
    const acks: number[] = [];
    for (const row of rows) {
      if ((row.kind === "index" || row.kind === "approval-index") && !keep.has(row.id)) {
        acks.push(row.id);
        continue;
      }
      try {
        if (row.kind === "index") {
          const summary = JSON.parse(row.payload) as RunSummary;
          await registryStub(this.env, summary.tenant).indexRun(summary);
          acks.push(row.id);
          continue;
        } else if (row.kind === "approval-index") {
          const { tenant, entry } = JSON.parse(row.payload) as { tenant: string; entry: ApprovalIndexEntry };
          await registryStub(this.env, tenant).indexApproval(entry);
          acks.push(row.id);
          continue;
        } else if (row.kind === "notify") {
          await this.prepareNotifications(row.id, JSON.parse(row.payload) as { approvalId: string; level: number });
          continue; // acknowledged inside the transaction that enqueued the emails
        } else if (row.kind === "budget-return") {
          await this.deliverSliceReturn(row.id, JSON.parse(row.payload) as SliceReturnJob);
          continue; // acknowledged with the budget.slice_returned event
        } else if (row.kind === "budget-notify") {
          await this.prepareBreachNotice(row.id, JSON.parse(row.payload) as BreachFacts);
          continue; // acknowledged inside the transaction that queued the notice
        } else if (row.kind === "budget-webhook") {
          const w = JSON.parse(row.payload) as { url: string; body: { id: string } };
          const res = await outboundFetch(w.url, { method: "POST", headers: { "content-type": "application/json", "webhook-id": w.body.id }, body: JSON.stringify(w.body) }, this.hosts, "budget webhook", 10_000);
          await res.body?.cancel();
          if (!res.ok) throw new Error(`budget webhook answered ${res.status}`);
        } else if (row.kind === "email") {
          await (await emailSenderFor(this.env as unknown as EmailEnv)).send(JSON.parse(row.payload) as OutgoingEmail);
        }
        this.store.ackOutbox(row.id);
      } catch {
        const attempts = row.attempts + 1;
        this.store.retryOutbox(row.id, attempts, now + Math.min(300_000, 1_000 * 2 ** attempts));
      }
    }
    this.ctx.storage.transactionSync(() => {
      for (const id of acks) this.store.ackOutbox(id);
      const next = this.store.earliestOutbox();
      if (next !== null) this.store.setTimer(OUTBOX, Math.max(next, now + 1), "outbox");
      else this.store.deleteTimer(OUTBOX);
    });
    return rows.length > 0;
  }
}
