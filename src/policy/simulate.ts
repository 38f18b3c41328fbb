/**
 * Policy simulation: replay a recorded run and re-decide every recorded policy decision with a
 * proposed policy in place of (or in addition to) the one at its level, listing the decisions
 * that would change. Pure: runs offline on an exported log.
 */
import type { RunEvent } from "../engine/events.ts";
import { apply, initialState } from "../engine/fold.ts";
import type { RunState } from "../engine/run-state.ts";
import { policyFacts } from "../engine/policy-gate.ts";
import { decideCall, type Effect, type PolicyEntry, type PolicyRequest } from "./policy-decision.ts";
import { policySchema, type Policy, type PolicyLevel } from "./policy-schema.ts";

export interface SimulatedChange {
  seq: number;
  node: string;
  callId: string;
  request: { tool?: string; model?: string; host?: string };
  recorded: { effect: Effect; rules: string[] };
  proposed: { effect: Effect; rules: string[]; reason: string };
}

export interface Simulation {
  decisions: number;
  changed: SimulatedChange[];
}

function entriesWith(s: RunState, level: PolicyLevel, proposed: Policy): PolicyEntry[] {
  const base: PolicyEntry[] = (s.policy?.entries ?? []).map((e) => ({ level: e.level, version: e.version, policy: policySchema.parse(e.policy) }));
  const node = s.cursor ? s.doc.nodes[s.cursor.node] : undefined;
  if (node && "policy" in node && node.policy) base.push({ level: "node", version: null, policy: policySchema.parse(node.policy) });
  // the proposal replaces the registry policy at its level (documents embedded in the workflow stay)
  const kept = base.filter((e) => !(e.level === level && e.version !== null));
  return [...kept, { level, version: null, policy: proposed }];
}

/** The request a recorded decision was about, rebuilt from the call that followed it or the state before it. */
function requestOf(data: Extract<RunEvent, { type: "policy.decision" }>["data"], args: unknown): PolicyRequest {
  return { action: data.action, node: data.node, ...(data.request.tool !== undefined ? { tool: data.request.tool, args } : {}), ...(data.request.model !== undefined ? { model: data.request.model } : {}), ...(data.request.host !== undefined ? { host: data.request.host } : {}) };
}

export function simulate(events: readonly RunEvent[], level: PolicyLevel, proposed: unknown): Simulation {
  const policy = policySchema.parse(proposed);
  let s = initialState(events[0]);
  const changed: SimulatedChange[] = [];
  let decisions = 0;
  for (let i = 1; i < events.length; i++) {
    const e = events[i];
    if (e.type === "policy.decision") {
      decisions++;
      // the arguments of the call: from the tool.started that follows, or the agent's queued call
      const next = events.slice(i + 1).find((x) => (x.type === "tool.started" || x.type === "tool.denied") && x.data.callId === e.data.callId);
      const args = next?.type === "tool.started" ? next.data.args : (s.cursor?.agent?.queue[0]?.args ?? {});
      const d = decideCall(entriesWith(s, level, policy), requestOf(e.data, args), policyFacts(s));
      if (d.effect !== e.data.effect) {
        changed.push({ seq: e.seq, node: e.data.node, callId: e.data.callId, request: e.data.request, recorded: { effect: e.data.effect, rules: e.data.rules }, proposed: { effect: d.effect, rules: d.rules, reason: d.reason } });
      }
    }
    s = apply(s, e);
  }
  return { decisions, changed };
}
