/**
 * Budget: one Durable Object per shared budget (`tenant:<tenant>`, `workflow:<tenant>:<workflow>`),
 * so concurrent runs cannot both spend the last dollar: every reservation, settlement and
 * release of the scope goes through this one object, one at a time, each in one
 * transactionSync. The ledger rules are pure (src/budget/ledger.ts); this shell loads the rows a
 * request touches, applies them, and writes back what changed together with a line in the
 * append-only `budget_ledger` table.
 *
 * Auditing: reservations, settlements and refusals are events of the run that asked (its audit
 * trail records them, with the scope's answer); limit changes are recorded by the API on the
 * tenant's audit stream. The ledger table here is the scope's own record of every operation.
 */
import { DurableObject } from "cloudflare:workers";
import { fail, ok, type RpcResult } from "../src/engine/rpc-result.ts";
import { mergeLimits, type Limits } from "../src/budget/budget-limits.ts";
import { close, reserve, runKey, type CloseOutcome, type LedgerState, type Reservation, type ReserveOutcome, type Totals } from "../src/budget/ledger.ts";
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

export interface ReserveRequest {
  name: string;
  id: string;
  runId: string;
  amount: Amount;
  /** with `min`, a partial grant (a run's slice): anything from `min` to `amount`, sized by what the windows have left */
  min?: Amount;
  /** a reservation of the same run settled at `actual` in the same transaction, before this one is granted (the slice this one replaces) */
  replaces?: { id: string; actual: Amount };
  /** the run's policy limits for this scope, merged most-restrictively with the object's own */
  extraLimits?: Limits;
}

export type ReserveAnswer = ReserveOutcome & { used: Totals };

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

type TotalsRow = {
  key: string;
  reserved_usd: number;
  reserved_tokens: number;
  settled_usd: number;
  settled_tokens: number;
};

export class Budget extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** tests only: answer as an unreachable object would */
  private unavailable = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS budget_meta (k INTEGER PRIMARY KEY CHECK (k = 1), name TEXT NOT NULL, limits TEXT NOT NULL, notify TEXT NOT NULL, version INTEGER NOT NULL, updated_at INTEGER, updated_by TEXT)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS reservations (id TEXT PRIMARY KEY, run_id TEXT NOT NULL, usd INTEGER NOT NULL, tokens INTEGER NOT NULL, day TEXT NOT NULL, month TEXT NOT NULL, state TEXT NOT NULL, actual_usd INTEGER, actual_tokens INTEGER, at INTEGER NOT NULL, closed_at INTEGER)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS reservations_open ON reservations (state) WHERE state = 'reserved'`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS totals (key TEXT PRIMARY KEY, reserved_usd INTEGER NOT NULL, reserved_tokens INTEGER NOT NULL, settled_usd INTEGER NOT NULL, settled_tokens INTEGER NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS budget_ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, reservation_id TEXT, run_id TEXT, detail TEXT NOT NULL)`);
  }

  // ---------- storage ----------

  /** The object serves the budget it is named after; a request naming another is refused. */
  private owns(name: string): boolean {
    if (tenantOfBudget(name) === null) return false;
    const own = this.ctx.id.name ?? this.meta()?.name;
    return own === undefined || own === name;
  }

  private meta(): { name: string; limits: Limits; notify: BreachNotify; version: number; updated_at: number | null; updated_by: string | null } | null {
    const r = this.sql.exec<{ name: string; limits: string; notify: string; version: number; updated_at: number | null; updated_by: string | null }>(`SELECT * FROM budget_meta WHERE k = 1`).toArray()[0];
    return r ? { ...r, limits: JSON.parse(r.limits) as Limits, notify: JSON.parse(r.notify) as BreachNotify } : null;
  }

  private settings(): BudgetSettings {
    const m = this.meta();
    return m ? { limits: m.limits, notify: m.notify, version: m.version, updatedAt: m.updated_at, updatedBy: m.updated_by } : { limits: {}, notify: {}, version: 0, updatedAt: null, updatedBy: null };
  }

  private reservationRow(id: string): Reservation | null {
    const r = this.sql.exec<ReservationRow>(`SELECT * FROM reservations WHERE id = ?`, id).toArray()[0];
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

  private totalsRows(keys: string[]): Record<string, Totals> {
    const out: Record<string, Totals> = {};
    for (const key of keys) {
      const r = this.sql.exec<TotalsRow>(`SELECT * FROM totals WHERE key = ?`, key).toArray()[0];
      if (r) out[key] = { reserved: { usdMicros: r.reserved_usd, tokens: r.reserved_tokens }, settled: { usdMicros: r.settled_usd, tokens: r.settled_tokens } };
    }
    return out;
  }

  /** The rows a request touches, as a ledger view. */
  private view(reservationId: string, keys: string[]): LedgerState {
    const r = this.reservationRow(reservationId);
    return { limits: this.settings().limits, reservations: r ? { [r.id]: r } : {}, totals: this.totalsRows(keys) };
  }

  private write(state: LedgerState, changed: { reservation: string | null; totals: string[] }): void {
    if (changed.reservation) {
      const r = state.reservations[changed.reservation];
      this.sql.exec(
        `INSERT INTO reservations (id, run_id, usd, tokens, day, month, state, actual_usd, actual_tokens, at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, actual_usd = excluded.actual_usd, actual_tokens = excluded.actual_tokens, closed_at = excluded.closed_at`,
        r.id, r.runId, r.amount.usdMicros, r.amount.tokens, r.periods.day, r.periods.month, r.state, r.actual?.usdMicros ?? null, r.actual?.tokens ?? null, r.at, r.closedAt,
      );
    }
    for (const key of changed.totals) {
      const t = state.totals[key];
      this.sql.exec(
        `INSERT INTO totals (key, reserved_usd, reserved_tokens, settled_usd, settled_tokens) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET reserved_usd = excluded.reserved_usd, reserved_tokens = excluded.reserved_tokens, settled_usd = excluded.settled_usd, settled_tokens = excluded.settled_tokens`,
        key, t.reserved.usdMicros, t.reserved.tokens, t.settled.usdMicros, t.settled.tokens,
      );
    }
  }

  private log(kind: string, reservationId: string | null, runId: string | null, detail: unknown, at: number): void {
    this.sql.exec(`INSERT INTO budget_ledger (at, kind, reservation_id, run_id, detail) VALUES (?, ?, ?, ?, ?)`, at, kind, reservationId, runId, JSON.stringify(detail));
  }

  private remember(name: string): void {
    if (!this.meta()) this.sql.exec(`INSERT INTO budget_meta (k, name, limits, notify, version) VALUES (1, ?, '{}', '{}', 0)`, name);
  }

  private check(name: string): RpcResult<null> {
    if (this.unavailable) return fail(503, "Service Unavailable", `budget ${name} is unavailable (fault injection)`);
    return this.owns(name) ? ok(null) : fail(404, "Not Found", "no such budget");
  }

  // ---------- RPC ----------

  /** Reserves `amount` (or, with `min`, a slice of it) for reservation `id` unless it would take any window past its limit. Idempotent by id. */
  async reserve(req: ReserveRequest): Promise<RpcResult<ReserveAnswer>> {
    const c = this.check(req.name);
    if (!c.ok) return c;
    const at = Date.now();
    const periods = periodKeys(at);
    let answer!: ReserveAnswer;
    this.ctx.storage.transactionSync(() => {
      this.remember(req.name);
      if (req.replaces) this.closeInTransaction({ name: req.name, id: req.replaces.id, runId: req.runId, actual: req.replaces.actual }, false, at);
      const step = reserve(this.view(req.id, [runKey(req.runId), periods.day, periods.month]), { id: req.id, runId: req.runId, amount: req.amount, at, ...(req.min ? { min: req.min } : {}), ...(req.extraLimits ? { extraLimits: req.extraLimits } : {}) });
      this.write(step.state, step.changed);
      const o = step.outcome;
      if (!(o.kind === "granted" && o.repeated)) this.log(o.kind === "granted" ? "reserved" : o.kind, req.id, req.runId, o.kind === "refused" ? { amount: req.amount, ...(req.min ? { min: req.min } : {}), refusal: o.refusal } : { amount: o.kind === "granted" ? o.reservation.amount : req.amount }, at);
      answer = { ...o, used: step.state.totals[periods.day] ?? { reserved: { usdMicros: 0, tokens: 0 }, settled: { usdMicros: 0, tokens: 0 } } };
    });
    return ok(answer);
  }

  /** Settles reservation `id` at its actual cost (idempotent: a retried settlement never counts twice). */
  async settle(req: { name: string; id: string; runId: string; actual: Amount }): Promise<RpcResult<CloseOutcome>> {
    return this.closeReservation(req, false);
  }

  /** Releases reservation `id` (idempotent). */
  async release(req: { name: string; id: string; runId: string }): Promise<RpcResult<CloseOutcome>> {
    return this.closeReservation({ ...req, actual: { usdMicros: 0, tokens: 0 } }, true);
  }

  private closeReservation(req: { name: string; id: string; runId: string; actual: Amount }, release: boolean): RpcResult<CloseOutcome> {
    const c = this.check(req.name);
    if (!c.ok) return c;
    let outcome!: CloseOutcome;
    this.ctx.storage.transactionSync(() => {
      this.remember(req.name);
      outcome = this.closeInTransaction(req, release, Date.now());
    });
    return ok(outcome);
  }

  private closeInTransaction(req: { name: string; id: string; runId: string; actual: Amount }, release: boolean, at: number): CloseOutcome {
    const existing = this.reservationRow(req.id);
    const periods = existing?.periods ?? periodKeys(at);
    const step = close(this.view(req.id, [runKey(existing?.runId ?? req.runId), periods.day, periods.month]), { id: req.id, runId: req.runId, actual: req.actual, at, release });
    this.write(step.state, step.changed);
    const outcome = step.outcome;
    if (!outcome.repeated) this.log(outcome.kind, req.id, req.runId, { actual: outcome.reservation.actual, reserved: outcome.reservation.amount, ...(outcome.overrun ? { overrun: outcome.overrun } : {}) }, at);
    return outcome;
  }

  /** Limits, notification targets and what the current UTC day and month have used. */
  async usage(name: string, at = Date.now()): Promise<RpcResult<BudgetUsage>> {
    const c = this.check(name);
    if (!c.ok) return c;
    const p = periodKeys(at);
    const t = this.totalsRows([p.day, p.month]);
    const zero = { reserved: { usdMicros: 0, tokens: 0 }, settled: { usdMicros: 0, tokens: 0 } };
    const open = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM reservations WHERE state = 'reserved'`).one().n;
    return ok({ name, ...this.settings(), day: { period: p.day, used: t[p.day] ?? zero }, month: { period: p.month, used: t[p.month] ?? zero }, open });
  }

  /** What one run has reserved and settled in this scope. */
  async runUsage(name: string, runId: string): Promise<RpcResult<Totals>> {
    const c = this.check(name);
    if (!c.ok) return c;
    const zero = { reserved: { usdMicros: 0, tokens: 0 }, settled: { usdMicros: 0, tokens: 0 } };
    return ok(this.totalsRows([runKey(runId)])[runKey(runId)] ?? zero);
  }

  /** Replaces the scope's limits and notification targets; returns the previous settings (for the audit entry). */
  async setLimits(name: string, limits: Limits, notify: BreachNotify, by: string): Promise<RpcResult<{ previous: BudgetSettings; current: BudgetSettings }>> {
    const c = this.check(name);
    if (!c.ok) return c;
    const previous = this.settings();
    const at = Date.now();
    const clean = mergeLimits(limits);
    this.ctx.storage.transactionSync(() => {
      this.remember(name);
      this.sql.exec(`UPDATE budget_meta SET limits = ?, notify = ?, version = version + 1, updated_at = ?, updated_by = ? WHERE k = 1`, JSON.stringify(clean), JSON.stringify(notify), at, by);
      this.log("limits_changed", null, null, { by, previous: previous.limits, limits: clean, notify }, at);
    });
    return ok({ previous, current: this.settings() });
  }

  /** The scope's ledger, newest first (operators and tests). */
  async ledger(name: string, limit = 100): Promise<RpcResult<Array<{ seq: number; at: number; kind: string; reservationId: string | null; runId: string | null; detail: unknown }>>> {
    const c = this.check(name);
    if (!c.ok) return c;
    const rows = this.sql.exec<{ seq: number; at: number; kind: string; reservation_id: string | null; run_id: string | null; detail: string }>(`SELECT * FROM budget_ledger ORDER BY seq DESC LIMIT ?`, Math.min(Math.max(limit, 1), 10_000)).toArray();
    return ok(rows.map((r) => ({ seq: r.seq, at: r.at, kind: r.kind, reservationId: r.reservation_id, runId: r.run_id, detail: JSON.parse(r.detail) as unknown })));
  }

  /** Tests only: make the object answer as an unreachable one would (every request throws). */
  async injectFault(fault: { unavailable: boolean }): Promise<void> {
    if (this.env.WARDEN_FAULT_INJECTION !== "1") throw new Error("fault injection is disabled");
    this.unavailable = fault.unavailable;
  }
}
