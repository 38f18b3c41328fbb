/**
 * Starting a run, shared by `POST /v1/runs` and webhook deliveries: resolve the published
 * workflow, validate the input against its schema, and start the run's object (idempotent by run
 * id and request hash; the run indexes itself in the tenant's registry before it answers).
 */
import type { Actor } from "../engine/events.ts";
import { validateInput } from "../engine/input-schema.ts";
import { fail, type RpcResult } from "../engine/rpc-result.ts";
import type { RunSummary } from "../engine/run-summary.ts";
import type { WorkflowDocument } from "../engine/workflow-schema.ts";
import { registryStub, runStub } from "./stubs.ts";

export interface StartRunArgs {
  tenant: string;
  /** "<id>" (the latest version) or "<id>@<version>" */
  workflow: string;
  input: Record<string, unknown>;
  runId: string;
  actor: Actor;
  /** what makes a repeated start the same request; a different hash for an existing run id is 409 */
  requestHash: string;
}

export async function startRun(env: Env, args: StartRunArgs): Promise<RpcResult<{ created: boolean; run: RunSummary }>> {
  const [wfId, ver] = args.workflow.split("@");
  const registry = registryStub(env, args.tenant);
  const wf = await registry.workflow(wfId, ver ? Number(ver) : undefined);
  if (!wf) return fail(404, "Not Found", `no published workflow ${args.workflow}`);
  const doc = wf.document as WorkflowDocument;
  const errors = validateInput(doc.input, args.input);
  if (errors.length) return fail(422, "Invalid input", `the input does not match the input schema of ${wf.id}@${wf.version}`, errors);
  return runStub(env, args.runId).start({
    runId: args.runId,
    tenant: args.tenant,
    workflow: { id: wf.id, version: wf.version, hash: wf.hash },
    document: doc,
    input: args.input,
    actor: args.actor,
    requestHash: args.requestHash,
  });
}
