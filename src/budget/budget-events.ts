/**
 * The budget events of a run's log (schemas used by src/engine/events.ts). A model call's
 * reservation is requested (a decision: the worst case and the scopes it is charged to),
 * reserved or refused by the Budget objects, and later settled (observations). Counters and
 * run-level budgets are checked by the interpreter itself (`run.limit_reached`, a decision).
 */
import { z } from "zod";

const amount = z.object({ usdMicros: z.number().int(), tokens: z.number().int() });
const cap = z.object({ usdMicros: z.number().int().nonnegative().optional(), tokens: z.number().int().nonnegative().optional() });
export const limitsSchema = z.object({ run: cap.optional(), day: cap.optional(), month: cap.optional() });
export const budgetScopeRef = z.object({ scope: z.enum(["tenant", "workflow"]), name: z.string(), limits: limitsSchema });
export type BudgetScopeRef = z.output<typeof budgetScopeRef>;
export const modelPriceSchema = z.object({ inputMicrosPerMTok: z.number().int().nonnegative(), outputMicrosPerMTok: z.number().int().nonnegative(), cachedMicrosPerMTok: z.number().int().nonnegative(), source: z.string() });
export const estimateSchema = z.object({ usdMicros: z.number().int().nonnegative(), tokens: z.number().int().nonnegative(), inputTokens: z.number().int().nonnegative(), outputTokens: z.number().int().nonnegative() });

export const budgetEventSchemas = {
  /** decision: the worst case of the next model call attempt, and the shared budgets it is reserved against */
  "budget.requested": z.object({ node: z.string(), callId: z.string(), reservationId: z.string(), attempt: z.number().int().positive(), estimate: estimateSchema, price: modelPriceSchema, scopes: z.array(budgetScopeRef) }),
  /** every scope granted the reservation */
  "budget.reserved": z.object({ reservationId: z.string(), scopes: z.array(z.object({ name: z.string(), used: amount })) }),
  /** a scope refused it (the others were released): the run halts before the call */
  "budget.refused": z.object({
    node: z.string(),
    callId: z.string(),
    reservationId: z.string(),
    scope: z.enum(["tenant", "workflow"]),
    name: z.string(),
    window: z.enum(["run", "day", "month"]),
    unit: z.enum(["usd", "tokens"]),
    period: z.string(),
    limit: z.number(),
    used: z.number(),
    wouldAdd: z.number(),
    reason: z.string(),
  }),
  /** a Budget object could not be reached: nothing is spent, the reservation is retried with backoff */
  "budget.unavailable": z.object({ reservationId: z.string(), error: z.string(), attempt: z.number().int().positive(), retryAt: z.number() }),
  /** the shared budgets acknowledged the settlement (actual cost) or release (zero) of a reservation */
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

export const BUDGET_DECISION_EVENTS = ["budget.requested", "run.limit_reached"] as const;
