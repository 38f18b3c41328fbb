/**
 * The budget events of a run's log (schemas used by src/engine/events.ts). A run borrows a
 * slice of each shared budget (tenant, workflow) from its Budget object (`slice_requested`, a
 * decision; `slice_granted` / `refused` / `unavailable`, observations) and reserves each model
 * call's worst case from those slices, settling it at the actual cost after the call (both
 * decisions, no round trip). The slices go back when the run stops running (`slice_returned`).
 * Counters and run-level budgets are checked by the interpreter itself (`run.limit_reached`).
 */
import { z } from "zod";

const amount = z.object({ usdMicros: z.number().int(), tokens: z.number().int() });
const cap = z.object({ usdMicros: z.number().int().nonnegative().optional(), tokens: z.number().int().nonnegative().optional() });
export const limitsSchema = z.object({ run: cap.optional(), day: cap.optional(), month: cap.optional() });
export const budgetScopeRef = z.object({ scope: z.enum(["tenant", "workflow"]), name: z.string(), limits: limitsSchema });
export type BudgetScopeRef = z.output<typeof budgetScopeRef>;
export const modelPriceSchema = z.object({ inputMicrosPerMTok: z.number().int().nonnegative(), outputMicrosPerMTok: z.number().int().nonnegative(), cachedMicrosPerMTok: z.number().int().nonnegative(), source: z.string() });
export const estimateSchema = z.object({ usdMicros: z.number().int().nonnegative(), tokens: z.number().int().nonnegative(), inputTokens: z.number().int().nonnegative(), outputTokens: z.number().int().nonnegative() });

const sliceScope = budgetScopeRef.extend({
  /** the least that lets the call go ahead (its worst case), and what the run asks for (a few calls' worth) */
  min: amount,
  want: amount,
  /** the scope's current slice, returned (settled at what it lent) in the same operation */
  replaces: z.object({ sliceId: z.string(), actual: amount }).nullable(),
});

/** the window that stands in the way of a slice: its limit, what it has used (settled and reserved), and what the call needs */
const blocking = { window: z.enum(["run", "day", "month"]), unit: z.enum(["usd", "tokens"]), limit: z.number(), used: z.number(), wouldAdd: z.number() };

export const budgetEventSchemas = {
  /**
   * decision: the run asks the shared budgets for a slice (a reservation it then lends from
   * locally, call by call), because a scope's current slice cannot cover the next model call; or,
   * with `admission`, its first slice as it starts (no call yet: `callId` and `reservationId` are
   * null), so the answer can arrive while the run indexes itself and takes its first step
   */
  "budget.slice_requested": z.object({ sliceId: z.string(), node: z.string(), callId: z.string().nullable(), reservationId: z.string().nullable(), scopes: z.array(sliceScope), admission: z.literal(true).optional() }),
  /** the slice asked for at admission was not granted (no room, or the Budget object unreachable): nothing changes; the run asks again at its first model call, where a refusal halts it */
  "budget.slice_declined": z.object({ sliceId: z.string(), answer: z.enum(["refused", "busy", "closed", "unavailable"]), reason: z.string() }),
  /** every scope granted a slice (between `min` and `want`; `used` is the scope's UTC-day total after the grant) */
  "budget.slice_granted": z.object({ sliceId: z.string(), scopes: z.array(z.object({ name: z.string(), granted: amount, day: z.string(), month: z.string(), used: amount })) }),
  /** a slice went back to its scope: settled at what the run spent from it, the rest released */
  "budget.slice_returned": z.object({ sliceId: z.string(), name: z.string(), outcome: z.enum(["settled", "released"]), actual: amount }),
  /** decision: the worst case of the next model call attempt, and the shared budgets it is reserved against */
  "budget.requested": z.object({ node: z.string(), callId: z.string(), reservationId: z.string(), attempt: z.number().int().positive(), estimate: estimateSchema, price: modelPriceSchema, scopes: z.array(budgetScopeRef) }),
  /** decision: the reservation is taken from the run's slice of every scope (what each slice has left after it) */
  "budget.reserved": z.object({ reservationId: z.string(), scopes: z.array(z.object({ name: z.string(), sliceId: z.string(), remaining: amount })) }),
  /** a scope refused the slice the call needs (nothing was granted in any scope): the run halts before the call */
  "budget.refused": z.object({ node: z.string(), callId: z.string(), reservationId: z.string(), sliceId: z.string(), scope: z.enum(["tenant", "workflow"]), name: z.string(), period: z.string(), ...blocking, reason: z.string() }),
  /** the tenant's Budget object has no room now, but would once slices other runs hold go back: the run waits and asks again (nothing spent meanwhile) */
  "budget.deferred": z.object({ sliceId: z.string(), name: z.string(), ...blocking, attempt: z.number().int().positive(), retryAt: z.number() }),
  /** a Budget object could not be reached: nothing is spent, the slice request is retried with backoff */
  "budget.unavailable": z.object({ sliceId: z.string(), error: z.string(), attempt: z.number().int().positive(), retryAt: z.number() }),
  /** decision: a reservation is settled at the call's actual cost (or released at zero) against the run's slices */
  "budget.settled": z.object({ reservationId: z.string(), outcome: z.enum(["settled", "released"]), actual: amount, scopes: z.array(z.string()) }),
  /** decision: a per-run limit (cost, tokens, steps, tool calls, agent iterations) stops the run before the next step */
  "run.limit_reached": z.object({
    node: z.string(),
    callId: z.string().optional(),
    limit: z.enum(["usd", "tokens", "steps", "toolCalls", "iterations"]),
    max: z.number(),
    used: z.number(),
    wouldAdd: z.number(),
    reason: z.string(),
  }),
  /** per-run budget limits set on this run through the API */
  "budget.limits_set": z.object({ actor: z.object({ sub: z.string(), roles: z.array(z.string()).default([]) }), limits: z.object({ usdMicros: z.number().int().nonnegative().optional(), tokens: z.number().int().nonnegative().optional() }) }),
} as const;

export const BUDGET_DECISION_EVENTS = ["budget.slice_requested", "budget.requested", "budget.reserved", "budget.settled", "run.limit_reached"] as const;
