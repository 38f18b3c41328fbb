/** What templates, CEL expressions and policies see of a run. Pure. */
import type { RunState } from "./run-state.ts";

export function runScope(s: RunState): Record<string, unknown> {
  const nodes: Record<string, { output: unknown }> = {};
  for (const [id, n] of Object.entries(s.nodes)) nodes[id] = { output: n.output };
  return { input: s.input, nodes, run: { id: s.runId, workflow: s.workflow.id, tenant: s.tenant } };
}
