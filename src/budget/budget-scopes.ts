/** The shared budgets and the names of their Budget objects (tenant ids hold no colon). */
export type BudgetScope = "tenant" | "workflow";

export const tenantBudgetName = (tenant: string) => `tenant:${tenant}`;
export const workflowBudgetName = (tenant: string, workflowId: string) => `workflow:${tenant}:${workflowId}`;

/** Which tenant a Budget object's name belongs to (null: not a budget name). */
export function tenantOfBudget(name: string): string | null {
  const m = /^(?:tenant|workflow):([^:]+)/.exec(name);
  return m ? m[1] : null;
}
