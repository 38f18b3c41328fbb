/**
 * Budget: one Durable Object per tenant holding every shared budget of that tenant (the
 * tenant's own, `tenant:<tenant>`, and each workflow's, `workflow:<tenant>:<workflow>`), so
 * concurrent runs cannot both spend the last dollar, and a run's slice of all its scopes is
 * granted in one round trip and one transaction: all of them or none. Every reservation,
 * settlement and release goes through this one object, one at a time, each in one
 * transactionSync. The ledger rules are pure (src/budget/ledger.ts); this shell loads the rows
 * a request touches, applies them, and writes back what changed together with a line in the
 * append-only `scope_ledger` table.
 *
 * Auditing: slices, refusals and returns are events of the run that asked (its audit trail
 * records them, with the object's answer); limit changes are recorded by the API on the
 * tenant's audit stream. The ledger table here is the object's own record of every operation.
 */
import { DurableObject } from "cloudflare:workers";
import { fail, ok, type RpcResult } from "../src/engine/rpc-result.ts";
import { mergeLimits, type Limits } from "../src/budget/budget-limits.ts";
import { close, reserveSlices, runKey, type CloseOutcome, type LedgerState, type Reservation, type SliceAsk, type SlicesAnswer, type Totals } from "../src/budget/ledger.ts";
import type { Amount } from "../src/budget/money.ts";
import { periodKeys } from "../src/budget/periods.ts";
import { tenantOfBudget } from "../src/budget/budget-scopes.ts";
import type { BreachNotify } from "../src/budget/breach-notice.ts";

export interface BudgetSettings {
  limits: Limits;
  notify: BreachNotify;
  version: number;
  updatedAt: number | null;
  updatedBy: string | null;
}

export interface BudgetUsage extends BudgetSettings {
  name: string;
  day: { period: string; used: Totals };
  month: { period: string; used: Totals };
  /** reservations granted and not yet settled or released */
  open: number;
}

type ReservationRow = {
  id: string;
  run_id: string;
  usd: number;
  tokens: number;
  day: string;
  month: string;
  state: string;
  actual_usd: number | null;
  actual_tokens: number | null;
  at: number;
  closed_at: number | null;
};

type TotalsRow = { key: string; reserved_usd: number; reserved_tokens: number; settled_usd: number; settled_tokens: number };

type SettingsRow = { name: string; limits: string; notify: string; version: number; updated_at: number | null; updated_by: string | null };

const ZERO_TOTALS: Totals = { reserved: { usdMicros: 0, tokens: 0 }, settled: { usdMicros: 0, tokens: 0 } };

export class Budget extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** tests only: answer as an unreachable object would */
  private unavailable = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS object_meta (k INTEGER PRIMARY KEY CHECK (k = 1), tenant TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS scope_settings (name TEXT PRIMARY KEY, limits TEXT NOT NULL, notify TEXT NOT NULL, version INTEGER NOT NULL, updated_at INTEGER, updated_by TEXT)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS scope_reservations (name TEXT NOT NULL, id TEXT NOT NULL, run_id TEXT NOT NULL, usd INTEGER NOT NULL, tokens INTEGER NOT NULL, day TEXT NOT NULL, month TEXT NOT NULL, state TEXT NOT NULL, actual_usd INTEGER, actual_tokens INTEGER, at INTEGER NOT NULL, closed_at INTEGER, PRIMARY KEY (name, id))`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS scope_reservations_open ON scope_reservations (name) WHERE state = 'reserved'`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS scope_totals (name TEXT NOT NULL, key TEXT NOT NULL, reserved_usd INTEGER NOT NULL, reserved_tokens INTEGER NOT NULL, settled_usd INTEGER NOT NULL, settled_tokens INTEGER NOT NULL, PRIMARY KEY (name, key))`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS scope_ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL, reservation_id TEXT, run_id TEXT, detail TEXT NOT NULL)`);
  }

  // ---------- storage ----------

  /** The object serves the budgets of the tenant it is named after; a request naming another tenant's budget is refused. */
  private owns(name: string): boolean {
    const tenant = tenantOfBudget(name);
    if (tenant === null) return false;
    const own = this.ctx.id.name ? tenantOfBudget(this.ctx.id.name) : (this.sql.exec<{ tenant: string }>(`SELECT tenant FROM object_meta WHERE k = 1`).toArray()[0]?.tenant ?? null);
    if (own === null && !this.ctx.id.name) this.sql.exec(`INSERT INTO object_meta (k, tenant) VALUES (1, ?)`, tenant);
    return own === null || own === tenant;
  }

  private settings(name: string): BudgetSettings {
    const r = this.sql.exec<SettingsRow>(`SELECT * FROM scope_settings WHERE name = ?`, name).toArray()[0];
    return r ? { limits: JSON.parse(r.limits) as Limits, notify: JSON.parse(r.notify) as BreachNotify, version: r.version, updatedAt: r.updated_at, updatedBy: r.updated_by } : { limits: {}, notify: {}, version: 0, updatedAt: null, updatedBy: null };
  }

  private reservationRow(name: string, id: string): Reservation | null {
    const r = this.sql.exec<ReservationRow>(`SELECT * FROM scope_reservations WHERE name = ? AND id = ?`, name, id).toArray()[0];
    if (!r) return null;
    return {
      id: r.id,
      runId: r.run_id,
      amount: { usdMicros: r.usd, tokens: r.tokens },
      periods: { day: r.day, month: r.month },
      state: r.state as Reservation["state"],
      actual: r.actual_usd === null ? null : { usdMicros: r.actual_usd, tokens: r.actual_tokens ?? 0 },
      at: r.at,
      closedAt: r.closed_at,
    };
  }

  private totalsRows(name: string, keys: string[]): Record<string, Totals> {
    const out: Record<string, Totals> = {};
    for (const key of keys) {
      const r = this.sql.exec<TotalsRow>(`SELECT * FROM scope_totals WHERE name = ? AND key = ?`, name, key).toArray()[0];
      if (r) out[key] = { reserved: { usdMicros: r.reserved_usd, tokens: r.reserved_tokens }, settled: { usdMicros: r.settled_usd, tokens: r.settled_tokens } };
    }
    return out;
  }

  /** The rows of scope `name` a request touches, as a ledger view: the reservations `ids` and the windows they and `runId` count in at `at`. */
  private view(name: string, ids: string[], runId: string, at: number): LedgerState {
    const reservations: Record<string, Reservation> = {};
    const keys = new Set<string>([runKey(runId), ...Object.values(periodKeys(at))]);
    for (const id of ids) {
      const r = this.reservationRow(name, id);
      if (!r) continue;
      reservations[id] = r;
      keys.add(runKey(r.runId));
      keys.add(r.periods.day);
      keys.add(r.periods.month);
    }
    return { limits: this.settings(name).limits, reservations, totals: this.totalsRows(name, [...keys]) };
  }

  private write(name: string, state: LedgerState, changed: { reservations: Set<string>; totals: Set<string> }): void {
    for (const id of changed.reservations) {
      const r = state.reservations[id];
      this.sql.exec(
        `INSERT INTO scope_reservations (name, id, run_id, usd, tokens, day, month, state, actual_usd, actual_tokens, at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name, id) DO UPDATE SET state = excluded.state, actual_usd = excluded.actual_usd, actual_tokens = excluded.actual_tokens, closed_at = excluded.closed_at`,
        name, r.id, r.runId, r.amount.usdMicros, r.amount.tokens, r.periods.day, r.periods.month, r.state, r.actual?.usdMicros ?? null, r.actual?.tokens ?? null, r.at, r.closedAt,
      );
    }
    for (const key of changed.totals) {
      const t = state.totals[key];
      this.sql.exec(
        `INSERT INTO scope_totals (name, key, reserved_usd, reserved_tokens, settled_usd, settled_tokens) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (name, key) DO UPDATE SET reserved_usd = excluded.reserved_usd, reserved_tokens = excluded.reserved_tokens, settled_usd = excluded.settled_usd, settled_tokens = excluded.settled_tokens`,
        name, key, t.reserved.usdMicros, t.reserved.tokens, t.settled.usdMicros, t.settled.tokens,
      );
    }
  }

  private log(name: string, kind: string, reservationId: string | null, runId: string | null, detail: unknown, at: number): void {
    this.sql.exec(`INSERT INTO scope_ledger (name, at, kind, reservation_id, run_id, detail) VALUES (?, ?, ?, ?, ?, ?)`, name, at, kind, reservationId, runId, JSON.stringify(detail));
  }

  private check(name: string): RpcResult<null> {
    if (this.unavailable) return fail(503, "Service Unavailable", `budget ${name} is unavailable (fault injection)`);
    return this.owns(name) ? ok(null) : fail(404, "Not Found", "no such budget");
  }

  // ---------- RPC ----------

  /**
   * A run's slice of several scopes at once, all or none: in each scope the slice it replaces is
   * settled and a new reservation `id` is granted between `min` and `amount`. If any scope
   * refuses, nothing is written (the refusal is logged). Idempotent by `id`.
   */
  async reserveSlices(req: { id: string; runId: string; scopes: SliceAsk[] }): Promise<RpcResult<SlicesAnswer>> {
    for (const sc of req.scopes) {
      const c = this.check(sc.name);
      if (!c.ok) return c;
    }
    const at = Date.now();
    let answer!: SlicesAnswer;
    this.ctx.storage.transactionSync(() => {
      const step = reserveSlices((name, ids) => this.view(name, ids, req.runId, at), { ...req, at });
      answer = step.answer;
      if (answer.kind === "refused") {
        const sc = req.scopes.find((x) => x.name === (answer as { name: string }).name)!;
        this.log(sc.name, "refused", req.id, req.runId, { amount: sc.amount, ...(sc.min ? { min: sc.min } : {}), refusal: answer.refusal }, at);
      }
      for (const w of step.writes) {
        this.write(w.name, w.state, w.changed);
        if (!w.fresh) continue;
        const replaced = req.scopes.find((x) => x.name === w.name)?.replaces;
        if (replaced) this.log(w.name, "settled", replaced.id, req.runId, { actual: replaced.actual, replacedBy: req.id }, at);
        this.log(w.name, "reserved", req.id, req.runId, { amount: w.state.reservations[req.id].amount }, at);
      }
    });
    return ok(answer);
  }

  /** A run's slice goes back: in each scope settled at `actual` (or released), in one transaction. Idempotent. */
  async returnSlices(req: { id: string; runId: string; scopes: Array<{ name: string; actual: Amount; release: boolean }> }): Promise<RpcResult<CloseOutcome[]>> {
    for (const sc of req.scopes) {
      const c = this.check(sc.name);
      if (!c.ok) return c;
    }
    const at = Date.now();
    const out: CloseOutcome[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const sc of req.scopes) out.push(this.closeInTransaction({ name: sc.name, id: req.id, runId: req.runId, actual: sc.release ? { usdMicros: 0, tokens: 0 } : sc.actual }, sc.release, at));
    });
    return ok(out);
  }

  private closeInTransaction(req: { name: string; id: string; runId: string; actual: Amount }, release: boolean, at: number): CloseOutcome {
    const step = close(this.view(req.name, [req.id], req.runId, at), { id: req.id, runId: req.runId, actual: req.actual, at, release });
    this.write(req.name, step.state, { reservations: new Set(step.changed.reservation ? [step.changed.reservation] : []), totals: new Set(step.changed.totals) });
    const outcome = step.outcome;
    if (!outcome.repeated) this.log(req.name, outcome.kind, req.id, req.runId, { actual: outcome.reservation.actual, reserved: outcome.reservation.amount, ...(outcome.overrun ? { overrun: outcome.overrun } : {}) }, at);
    return outcome;
  }

  /** Limits, notification targets and what the current UTC day and month have used. */
  async usage(name: string, at = Date.now()): Promise<RpcResult<BudgetUsage>> {
    const c = this.check(name);
    if (!c.ok) return c;
    const p = periodKeys(at);
    const t = this.totalsRows(name, [p.day, p.month]);
    const open = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM scope_reservations WHERE name = ? AND state = 'reserved'`, name).one().n;
    return ok({ name, ...this.settings(name), day: { period: p.day, used: t[p.day] ?? ZERO_TOTALS }, month: { period: p.month, used: t[p.month] ?? ZERO_TOTALS }, open });
  }

  /** What one run has reserved and settled in this scope. */
  async runUsage(name: string, runId: string): Promise<RpcResult<Totals>> {
    const c = this.check(name);
    if (!c.ok) return c;
    return ok(this.totalsRows(name, [runKey(runId)])[runKey(runId)] ?? ZERO_TOTALS);
  }

  /** Replaces the scope's limits and notification targets; returns the previous settings (for the audit entry). */
  async setLimits(name: string, limits: Limits, notify: BreachNotify, by: string): Promise<RpcResult<{ previous: BudgetSettings; current: BudgetSettings }>> {
    const c = this.check(name);
    if (!c.ok) return c;
    const previous = this.settings(name);
    const at = Date.now();
    const clean = mergeLimits(limits);
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO scope_settings (name, limits, notify, version, updated_at, updated_by) VALUES (?, ?, ?, 1, ?, ?)
         ON CONFLICT (name) DO UPDATE SET limits = excluded.limits, notify = excluded.notify, version = version + 1, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        name, JSON.stringify(clean), JSON.stringify(notify), at, by,
      );
      this.log(name, "limits_changed", null, null, { by, previous: previous.limits, limits: clean, notify }, at);
    });
    return ok({ previous, current: this.settings(name) });
  }

  /** The scope's ledger, newest first (operators and tests). */
  async ledger(name: string, limit = 100): Promise<RpcResult<Array<{ seq: number; at: number; kind: string; reservationId: string | null; runId: string | null; detail: unknown }>>> {
    const c = this.check(name);
    if (!c.ok) return c;
    const rows = this.sql.exec<{ seq: number; at: number; kind: string; reservation_id: string | null; run_id: string | null; detail: string }>(`SELECT * FROM scope_ledger WHERE name = ? ORDER BY seq DESC LIMIT ?`, name, Math.min(Math.max(limit, 1), 10_000)).toArray();
    return ok(rows.map((r) => ({ seq: r.seq, at: r.at, kind: r.kind, reservationId: r.reservation_id, runId: r.run_id, detail: JSON.parse(r.detail) as unknown })));
  }

  /** Tests only: make the object answer as an unreachable one would (every request throws). */
  async injectFault(fault: { unavailable: boolean }): Promise<void> {
    if (this.env.WARDEN_FAULT_INJECTION !== "1") throw new Error("fault injection is disabled");
    this.unavailable = fault.unavailable;
  }
}
