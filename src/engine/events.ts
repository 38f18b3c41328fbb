/**
 * The run's event log: the single source of truth. Each event is `{ seq, type, at, data }`.
 * Decision events are what the interpreter decided (replay must reproduce them exactly);
 * observation events are facts from outside (a model's answer, a tool's result, an operator's
 * action, a timer firing, a crash being detected) that replay takes as given.
 */
import { z } from "zod";
import { conflictRecordSchema, factRecordSchema, memoryReadResultSchema, memoryWriteResultSchema } from "../memory/fact-model.ts";
import { BUDGET_DECISION_EVENTS, budgetEventSchemas } from "../budget/budget-events.ts";

const json = z.unknown();
const actor = z.object({ sub: z.string(), roles: z.array(z.string()).default([]) });
export type Actor = z.output<typeof actor>;

export const modelToolCall = z.object({ id: z.string(), name: z.string(), args: z.record(z.string(), json) });
export type ModelToolCall = z.output<typeof modelToolCall>;

export const chatMessage = z.object({
  role: z.enum(["system", "user", "assistant", "tool"]),
  content: z.string().nullable(),
  toolCalls: z.array(modelToolCall).optional(),
  toolCallId: z.string().optional(),
  name: z.string().optional(),
});
export type ChatMessage = z.output<typeof chatMessage>;

export const llmRequest = z.object({
  provider: z.string(),
  model: z.string(),
  messages: z.array(chatMessage),
  tools: z.array(z.string()),
  maxTokens: z.number().optional(),
  turn: z.number().int().nonnegative(),
});
export type LlmRequest = z.output<typeof llmRequest>;

export const usage = z.object({ inputTokens: z.number(), outputTokens: z.number(), cachedTokens: z.number().optional() });
export const llmResponse = z.object({ text: z.string().nullable(), toolCalls: z.array(modelToolCall), usage, finishReason: z.string().optional() });
export type LlmResponse = z.output<typeof llmResponse>;

export const callError = z.object({ message: z.string(), status: z.number().optional(), retryable: z.boolean(), retryAfterMs: z.number().nonnegative().optional() });
export type CallError = z.output<typeof callError>;

const callRef = { node: z.string(), callId: z.string() };

export const eventDataSchemas = {
  "run.started": z.object({
    runId: z.string(),
    tenant: z.string(),
    workflow: z.object({ id: z.string(), version: z.number(), hash: z.string() }),
    document: json,
    input: json,
    actor,
    requestHash: z.string(),
    /**
     * interpreter behaviours the run was started with, so a log written before one existed still
     * replays as it was decided (`admissionSlice`: ask for the first slice as the run starts)
     */
    engine: z.object({ admissionSlice: z.boolean().optional() }).optional(),
  }),
  "node.started": z.object({ node: z.string(), kind: z.string(), visit: z.number().int().positive() }),
  "node.completed": z.object({ node: z.string(), visit: z.number(), output: json, next: z.string().nullable(), via: z.string().optional() }),
  "llm.started": z.object({ ...callRef, attempt: z.number().int().positive(), idempotencyKey: z.string(), request: llmRequest }),
  "llm.completed": z.object({ ...callRef, response: llmResponse, durationMs: z.number().optional() }),
  "llm.failed": z.object({ ...callRef, error: callError, durationMs: z.number().optional() }),
  "tool.started": z.object({ ...callRef, attempt: z.number().int().positive(), idempotencyKey: z.string(), tool: z.string(), args: json, atMostOnce: z.boolean(), modelCallId: z.string().optional() }),
  "tool.completed": z.object({ ...callRef, result: z.object({ status: z.number().optional(), body: json }), durationMs: z.number().optional() }),
  "tool.failed": z.object({ ...callRef, error: callError, durationMs: z.number().optional() }),
  "tool.denied": z.object({ ...callRef, tool: z.string(), modelCallId: z.string(), reason: z.string() }),
  /** a memory call: read (facts for the node), check (what a write would contradict) or write */
  "memory.started": z.object({ ...callRef, attempt: z.number().int().positive(), idempotencyKey: z.string(), op: z.enum(["read", "check", "write"]), scope: z.string(), request: json }),
  /** the exact facts a read or check returned, stale ones marked */
  "memory.read": z.object({ ...callRef, op: z.enum(["read", "check"]), scope: z.string(), result: memoryReadResultSchema, durationMs: z.number().optional() }),
  "memory.written": z.object({ ...callRef, scope: z.string(), result: memoryWriteResultSchema, durationMs: z.number().optional() }),
  "memory.failed": z.object({ ...callRef, error: callError, durationMs: z.number().optional() }),
  /** a written fact contradicts a believed one: recorded, surfaced, resolved by a person or a declared rule */
  "memory.conflict": z.object({ ...callRef, scope: z.string(), conflict: conflictRecordSchema, existing: factRecordSchema.optional(), proposed: factRecordSchema.optional() }),
  "timer.scheduled": z.object({ timerId: z.string(), node: z.string(), purpose: z.enum(["wait", "retry", "escalate", "timeout"]), fireAt: z.number() }),
  "policy.loaded": z.object({
    hash: z.string(),
    nodeHashes: z.record(z.string(), z.string()),
    entries: z.array(z.object({ level: z.enum(["global", "tenant", "workflow", "node"]), version: z.number().nullable(), policy: json })),
  }),
  "policy.decision": z.object({
    node: z.string(),
    callId: z.string(),
    action: z.enum(["tool", "llm", "egress", "memory.write", "memory.read"]),
    effect: z.enum(["allow", "deny", "require_approval"]),
    rules: z.array(z.string()),
    reason: z.string(),
    policyHash: z.string(),
    request: z.object({ tool: z.string().optional(), model: z.string().optional(), host: z.string().optional() }),
    approvers: z.object({ users: z.array(z.string()), roles: z.array(z.string()), quorum: z.number() }).optional(),
    shadow: z.object({ effect: z.enum(["allow", "deny", "require_approval"]), rules: z.array(z.string()), reason: z.string() }).nullable(),
  }),
  "approval.requested": z.object({
    approvalId: z.string(),
    callId: z.string().optional(),
    node: z.string(),
    visit: z.number(),
    quorum: z.number().int().positive(),
    rejection: z.enum(["any", "quorum"]),
    levels: z.array(z.object({ level: z.number().int().nonnegative(), users: z.array(z.string()), roles: z.array(z.string()), afterMs: z.number().nonnegative() })),
    excluded: z.array(z.string()),
    context: z.string(),
    deadline: z.number().nullable(),
    timeoutOutcome: z.enum(["approve", "reject", "fail"]).optional(),
  }),
  "approval.notified": z.object({ approvalId: z.string(), level: z.number(), recipients: z.array(z.object({ id: z.string(), email: z.string().optional() })), channel: z.string() }),
  "approval.viewed": z.object({ approvalId: z.string(), by: z.string(), via: z.string() }),
  "approval.decided": z.object({ approvalId: z.string(), by: z.string(), roles: z.array(z.string()), decision: z.enum(["approve", "reject"]), via: z.enum(["link", "api", "cli"]), comment: z.string().optional() }),
  "approval.escalated": z.object({ approvalId: z.string(), level: z.number().int().positive() }),
  "approval.reassigned": z.object({ approvalId: z.string(), actor, to: z.object({ users: z.array(z.string()), roles: z.array(z.string()) }), reason: z.string().optional() }),
  "approval.cancelled": z.object({ approvalId: z.string(), actor, reason: z.string().optional() }),
  "approval.resolved": z.object({ approvalId: z.string(), outcome: z.enum(["approved", "rejected", "expired", "cancelled"]), effect: z.enum(["approve", "reject", "fail"]), by: z.array(z.string()) }),
  "timer.fired": z.object({ timerId: z.string() }),
  "run.paused": z.object({ actor, reason: z.string().optional() }),
  "run.resumed": z.object({ actor }),
  "run.halted": z.object({ actor, reason: z.string().optional() }),
  "run.recovered": z.object({ interrupted: z.array(z.string()) }),
  "run.needs_attention": z.object({ node: z.string(), callId: z.string(), reason: z.string() }),
  "run.attention_resolved": z.object({ actor, action: z.enum(["retry", "fail", "complete"]), result: json.optional(), comment: z.string().optional() }),
  "run.completed": z.object({ output: json }),
  "run.failed": z.object({ error: z.object({ message: z.string(), node: z.string().optional() }) }),
  /** budgets: reservations, settlements, refusals and per-run limits (src/budget/budget-events.ts) */
  ...budgetEventSchemas,
} as const;

export type EventType = keyof typeof eventDataSchemas;
export type EventData<T extends EventType> = z.output<(typeof eventDataSchemas)[T]>;
export type EventOf<T extends EventType> = { seq: number; type: T; at: number; data: EventData<T> };
export type RunEvent = { [T in EventType]: EventOf<T> }[EventType];
/** An event before it is appended: the log assigns seq and at. */
export type NewEvent = { [T in EventType]: { type: T; data: EventData<T> } }[EventType];

export const DECISION_EVENTS: ReadonlySet<EventType> = new Set<EventType>([
  "node.started",
  "node.completed",
  "llm.started",
  "tool.started",
  "tool.denied",
  "memory.started",
  "memory.conflict",
  "timer.scheduled",
  "run.needs_attention",
  "policy.decision",
  "approval.requested",
  "approval.escalated",
  "approval.resolved",
  "run.completed",
  "run.failed",
  ...BUDGET_DECISION_EVENTS,
]);

export const EVENT_TYPES = Object.keys(eventDataSchemas) as EventType[];

const envelope = z.object({ seq: z.number().int().positive(), type: z.string(), at: z.number().int().nonnegative(), data: json });

export class MalformedEventError extends Error {}

/** Validates one exported event (for replay and for JSON read back from storage). */
export function parseEvent(raw: unknown, where: string): RunEvent {
  const env = envelope.safeParse(raw);
  if (!env.success) {
    const i = env.error.issues[0];
    throw new MalformedEventError(`${where}: ${i.path.join(".") || "event"} ${i.message}`);
  }
  const schema = (eventDataSchemas as Record<string, z.ZodType>)[env.data.type];
  if (!schema) throw new MalformedEventError(`${where}: unknown event type "${env.data.type}"`);
  const data = schema.safeParse(env.data.data);
  if (!data.success) {
    const i = data.error.issues[0];
    throw new MalformedEventError(`${where}: ${env.data.type} data.${i.path.join(".")}: ${i.message}`);
  }
  return { seq: env.data.seq, type: env.data.type, at: env.data.at, data: data.data } as RunEvent;
}
