/** What changed between two versions of a policy: every leaf path with its value before and after. Pure. */
export interface PolicyChange {
  path: string;
  before?: unknown;
  after?: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

export function diffPolicies(before: unknown, after: unknown, path = ""): PolicyChange[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffPolicies(before[k], after[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.every((x) => isObject(x) && typeof x.id === "string") && after.every((x) => isObject(x) && typeof x.id === "string")) {
    // rules: matched by id, so a reordering is not a change and an edited rule shows what changed
    const byId = (xs: unknown[]) => new Map(xs.map((x) => [(x as { id: string }).id, x]));
    const b = byId(before);
    const a = byId(after);
    const ids = [...new Set([...b.keys(), ...a.keys()])];
    return ids.flatMap((id) => diffPolicies(b.get(id), a.get(id), `${path}[id=${id}]`));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ path: path || "(root)", ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) }];
}
