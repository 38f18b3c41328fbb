/**
 * A policy document, at any of the four levels (global, tenant, workflow, node). Validated with
 * zod and by compiling every CEL expression, so a bad policy is rejected with the rule and
 * position at fault and the old one stays in force.
 */
import { z } from "zod";
import { compileExpression } from "../engine/expression.ts";
import { formatPath } from "../engine/format-path.ts";
import { parse as parseYaml } from "yaml";
import { pricesSchema } from "../budget/price-table.ts";

export const POLICY_LEVELS = ["global", "tenant", "workflow", "node"] as const;
export type PolicyLevel = (typeof POLICY_LEVELS)[number];

const pattern = z.string().min(1).max(200).regex(/^[\w.*:/@-]+$/, "must be a name pattern: letters, digits, . _ - : / @ and * wildcards");
const hostPattern = z.string().min(1).max(253).regex(/^(\*\.)?[a-z0-9.-]+(:\d+)?$/i, "must be a host name, optionally *.suffix, optionally :port");

export const approversSchema = z.strictObject({
  users: z.array(z.string().min(1)).default([]),
  roles: z.array(z.string().min(1)).default([]),
  quorum: z.number().int().positive().max(100).default(1),
});

export const ruleSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "must be a rule id (a-z, 0-9, . _ -)"),
  when: z.string().min(1).max(4000),
  effect: z.enum(["allow", "deny", "require_approval"]),
  approvers: approversSchema.optional(),
  reason: z.string().min(1).max(1000),
  /** What the rule applies to; absent = every action. */
  on: z.array(z.enum(["tool", "llm", "egress", "memory.write", "memory.read"])).optional(),
});

export const limitsSchema = z.strictObject({
  maxToolCalls: z.number().int().nonnegative().optional(),
  maxIterations: z.number().int().nonnegative().optional(),
  maxTokensPerCall: z.number().int().positive().optional(),
  maxCostUsdPerRun: z.number().nonnegative().optional(),
  maxSteps: z.number().int().positive().optional(),
  /** budgets (src/budget): tokens per run, and USD / tokens per UTC day and month of the tenant (global, tenant levels) or workflow (workflow, node levels) */
  maxTokensPerRun: z.number().int().nonnegative().optional(),
  maxCostUsdPerDay: z.number().nonnegative().optional(),
  maxCostUsdPerMonth: z.number().nonnegative().optional(),
  maxTokensPerDay: z.number().int().nonnegative().optional(),
  maxTokensPerMonth: z.number().int().nonnegative().optional(),
});

export const policySchema = z.strictObject({
  level: z.enum(POLICY_LEVELS).optional(),
  mode: z.enum(["enforce", "shadow"]).default("enforce"),
  description: z.string().max(2000).optional(),
  tools: z.strictObject({ allow: z.array(pattern).optional(), deny: z.array(pattern).default([]) }).optional(),
  egress: z.strictObject({ allow: z.array(hostPattern).optional() }).optional(),
  models: z.strictObject({ allow: z.array(pattern).optional() }).optional(),
  rules: z.array(ruleSchema).max(1000).default([]),
  limits: limitsSchema.default({}),
  redact: z.strictObject({ builtin: z.array(z.enum(["email", "phone", "card", "iban", "ssn", "national_id", "ip"])).default([]), fields: z.array(z.string().min(1)).default([]) }).optional(),
  retention: z.strictObject({ days: z.number().int().min(183, "retention may not be below the 183-day floor (EU AI Act Art. 19)").max(36_500) }).optional(),
  /** model prices (USD per million tokens) by provider/model pattern, overriding the price table; the most specific level wins */
  prices: pricesSchema.optional(),
});

export type Policy = z.output<typeof policySchema>;
export type PolicyRule = z.output<typeof ruleSchema>;
export type Approvers = z.output<typeof approversSchema>;

export type PolicyParse = { ok: true; policy: Policy } | { ok: false; errors: Array<{ path: string; message: string }> };

/** Parses YAML/JSON text or a value; compiles every rule's CEL and reports each error with its rule and position. */
export function parsePolicy(source: unknown): PolicyParse {
  let raw = source;
  if (typeof source === "string") {
    try {
      raw = parseYaml(source, { maxAliasCount: 100 });
    } catch (err) {
      return { ok: false, errors: [{ path: "(root)", message: `not valid YAML or JSON: ${(err as Error).message.split("\n")[0]}` }] };
    }
  }
  const parsed = policySchema.safeParse(raw ?? {});
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) };
  const errors: Array<{ path: string; message: string }> = [];
  const seen = new Set<string>();
  parsed.data.rules.forEach((r, i) => {
    if (seen.has(r.id)) errors.push({ path: `rules[${i}].id`, message: `duplicate rule id "${r.id}"` });
    seen.add(r.id);
    try {
      compileExpression(r.when);
    } catch (err) {
      const msg = (err as Error).message;
      const at = /\n>\s+\d+\s+\|.*\n\s*(\s*)\^/.exec(msg);
      const col = at ? at[1].length - "     ".length + 1 : undefined;
      errors.push({ path: `rules[${i}].when`, message: `rule "${r.id}": ${msg.split("\n")[0]}${col && col > 0 ? ` (at column ${col})` : ""}` });
    }
    if (r.effect === "require_approval" && !r.approvers) errors.push({ path: `rules[${i}].approvers`, message: `rule "${r.id}" requires approval but names no approvers` });
  });
  return errors.length ? { ok: false, errors } : { ok: true, policy: parsed.data };
}
