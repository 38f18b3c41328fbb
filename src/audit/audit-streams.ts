/** The audit streams: one hash chain per run, and one per tenant for what happens outside runs (policy changes, publications, holds, reads). */
export function runStream(runId: string): string {
  return `run:${runId}`;
}

export function tenantStream(tenant: string): string {
  return `tenant:${tenant}`;
}

/** One per agent memory scope: every write, conflict, resolution, retraction and erasure in it. */
export function memoryStream(tenant: string, scope: string): string {
  return `memory:${tenant}:${scope}`;
}
