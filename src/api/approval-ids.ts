/** An approval id names its run: `<runId>.<node>.<visit>`, so any route can reach the run's object. */
export const APPROVAL_ID = /^(run_[a-z0-9]{26})\.([A-Za-z_][\w-]{0,80})\.([1-9]\d*)$/;

export function runOfApproval(approvalId: string): string | null {
  return APPROVAL_ID.exec(approvalId)?.[1] ?? null;
}
