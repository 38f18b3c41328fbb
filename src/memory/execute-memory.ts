/**
 * Runs a memory call a run's interpreter started (`memory.started`) against the scope's
 * AgentMemory object and turns the answer into the event that records it: the exact facts read
 * (`memory.read`) or what the write did (`memory.written`). A refusal by the memory (a fact that
 * cannot be written) is a non-retryable failure; an unreachable object is retried with the same
 * idempotency key, which the memory uses to answer a repeated write without writing twice.
 */
import { CallFailure } from "../engine/call-failure.ts";
import type { NewEvent } from "../engine/events.ts";
import type { CallState, RunState } from "../engine/run-state.ts";
import { memoryStub } from "../api/stubs.ts";
import type { FactInput, Writer } from "./fact-model.ts";

type ReadRequest = { subject?: string; attributes?: string[]; asOf?: number; validAt?: number | null };
type WriteRequest = { facts: FactInput[]; writer: Writer };

export async function executeMemory(env: Env, s: RunState, call: CallState, began: number): Promise<NewEvent> {
  const m = call.memory!;
  const stub = memoryStub(env, s.tenant, m.scope);
  const refused = (p: { status: number; detail: string }) => new CallFailure(`memory ${m.op} refused: ${p.detail}`, { status: p.status, retryable: p.status >= 500 });
  const base = { node: call.node, callId: call.callId, scope: m.scope };
  if (m.op === "write") {
    const req = m.request as WriteRequest;
    const r = await stub.write({ tenant: s.tenant, scope: m.scope, facts: req.facts, writer: req.writer, idempotencyKey: call.idempotencyKey });
    if (!r.ok) throw refused(r.problem);
    return { type: "memory.written", data: { ...base, result: r.value, durationMs: Date.now() - began } };
  }
  const req = m.request as ReadRequest;
  const r = await stub.read({ tenant: s.tenant, scope: m.scope, ...req });
  if (!r.ok) throw refused(r.problem);
  return { type: "memory.read", data: { ...base, op: m.op, result: r.value, durationMs: Date.now() - began } };
}
