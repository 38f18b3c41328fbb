/**
 * The workflow document: what a user publishes. Validated with zod, then checked as a graph
 * (every `next` names a node, every node can reach an `end`). Parsing collects every error with
 * its path so a 422 can name them all.
 */
import { z } from "zod";
import { DURATION_PATTERN, parseDuration } from "./duration.ts";
import { compileExpression, ExpressionError } from "./expression.ts";
import { parse as parseYaml } from "yaml";
import { parsePolicy } from "../policy/policy-schema.ts";
import { formatPath } from "./format-path.ts";

export { formatPath };

const id = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "must be 1-64 chars of a-z, 0-9, '.', '_', '-' starting with a letter or digit");
const nodeId = z.string().regex(/^[A-Za-z_][\w-]{0,63}$/, "must be an identifier (letters, digits, _ and -)");
const toolName = z.string().regex(/^[A-Za-z0-9_][\w.:/-]{0,127}$/, "must be a tool name such as claims.lookup");
const duration = z.string().regex(DURATION_PATTERN, "must be a duration such as 500ms, 30s, 4h or 3d");
const json: z.ZodType<unknown> = z.unknown();
const retry = z
  .strictObject({
    maxAttempts: z.number().int().min(1).max(20).optional(),
    initialDelayMs: z.number().int().min(0).max(3_600_000).optional(),
    maxDelayMs: z.number().int().min(0).max(86_400_000).optional(),
  })
  .optional();
const secretName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "must name a Worker secret such as OPENAI_API_KEY");

const next = nodeId;

const llmNode = z.strictObject({
  kind: z.literal("llm"),
  model: z.string().min(1),
  system: z.string().optional(),
  prompt: z.string().min(1),
  maxTokens: z.number().int().positive().max(1_000_000).optional(),
  next,
  onError: nodeId.optional(),
  policy: z.record(z.string(), json).optional(),
});

const agentNode = z.strictObject({
  kind: z.literal("agent"),
  model: z.string().min(1),
  system: z.string().optional(),
  prompt: z.string().min(1),
  tools: z.array(toolName).default([]),
  maxIterations: z.number().int().positive().max(1000).default(10),
  maxTokens: z.number().int().positive().max(1_000_000).optional(),
  next,
  onError: nodeId.optional(),
  policy: z.record(z.string(), json).optional(),
});

const toolNode = z.strictObject({
  kind: z.literal("tool"),
  tool: toolName,
  args: z.record(z.string(), json).default({}),
  next,
  onError: nodeId.optional(),
  policy: z.record(z.string(), json).optional(),
});

const branchNode = z.strictObject({
  kind: z.literal("branch"),
  cases: z.array(z.strictObject({ when: z.string().min(1), next })).min(1),
  default: nodeId,
});

const waitNode = z.strictObject({
  kind: z.literal("wait"),
  for: duration,
  next,
});

const endNode = z.strictObject({
  kind: z.literal("end"),
  output: json.optional(),
});

/** Who may approve: people by id or email, and/or roles from the tenant's directory. */
export const approverSet = z
  .strictObject({ users: z.array(z.string().min(1).max(254)).default([]), roles: z.array(z.string().min(1).max(64)).default([]) })
  .refine((a) => a.users.length + a.roles.length > 0, "must name at least one user or role");

const approvalNode = z.strictObject({
  kind: z.literal("approval"),
  approvers: z.strictObject({
    users: z.array(z.string().min(1).max(254)).default([]),
    roles: z.array(z.string().min(1).max(64)).default([]),
    /** N of M distinct approvers. */
    quorum: z.number().int().positive().max(100).default(1),
  }),
  /** The identity that started the run may not approve it. */
  separationOfDuties: z.boolean().default(true),
  exclude: z.array(z.string().min(1)).default([]),
  /** "any": one rejection rejects; "quorum": rejections must reach the quorum too. */
  rejection: z.enum(["any", "quorum"]).default("any"),
  context: z.string().max(20_000).default(""),
  /** Each step notifies the next level `after` the request (cumulative from the request time). */
  escalate: z.array(z.strictObject({ after: duration, to: approverSet })).max(10).default([]),
  timeout: z.strictObject({ after: duration, outcome: z.enum(["approve", "reject", "fail"]) }).optional(),
  onApprove: nodeId,
  onReject: nodeId,
});

const memoryName = z.string().regex(/^[A-Za-z0-9][\w.@:+-]{0,127}$/, "must be 1-128 chars of letters, digits and . _ @ : + - starting with a letter or digit");

/** One fact a memory node writes: value and times are templates; the attribute's declaration (workflow `memory.attributes`) adds cardinality, freshness and rules. */
const memoryFact = z.strictObject({
  subject: z.string().min(1).max(300),
  attribute: memoryName,
  value: json,
  source: z.enum(["user_input", "tool_result", "model_inference", "human"]),
  confidence: z.number().min(0).max(1).default(1),
  /** when the fact became true (ISO time or ms; templated); default: when it is written */
  validFrom: z.string().optional(),
  validTo: z.string().optional(),
});

/** Reads (facts of a subject, optionally as of a past instant) or writes memory: exactly one of read / write. */
const memoryNode = z.strictObject({
  kind: z.literal("memory"),
  /** the memory scope (templated), e.g. "claimant-{{input.claimant.id}}" */
  scope: z.string().min(1).max(300),
  read: z.strictObject({ subject: z.string().min(1).max(300), attributes: z.array(memoryName).max(100).default([]), asOf: z.string().optional() }).optional(),
  write: z.array(memoryFact).min(1).max(100).optional(),
  next,
  onError: nodeId.optional(),
  policy: z.record(z.string(), json).optional(),
});

const memoryAttribute = z.strictObject({
  cardinality: z.enum(["one", "many"]).default("one"),
  /** a fact older than this reads as stale */
  freshFor: duration.optional(),
  /** a declared rule that resolves conflicts on this attribute without a person */
  resolve: z.enum(["newer_human_supersedes"]).optional(),
});

const reservedNode = z.looseObject({ kind: z.enum(["a2a"]) });

export const nodeSchema = z.discriminatedUnion("kind", [llmNode, agentNode, toolNode, branchNode, waitNode, endNode, approvalNode, memoryNode, reservedNode]);

const httpTool = z.strictObject({
  kind: z.literal("http"),
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]).default("POST"),
  url: z.string().regex(/^https?:\/\//, "must be an http(s) URL (templates allowed)"),
  headers: z.record(z.string(), z.string()).default({}),
  description: z.string().optional(),
  parameters: z.record(z.string(), json).optional(),
  atMostOnce: z.boolean().default(false),
  timeoutMs: z.number().int().positive().max(900_000).default(30_000),
  retry,
});

const builtinTool = z.strictObject({
  kind: z.literal("builtin"),
  builtin: z.enum(["echo", "json.pick"]),
  description: z.string().optional(),
  parameters: z.record(z.string(), json).optional(),
  atMostOnce: z.boolean().default(false),
  retry,
});

export const toolSchema = z.discriminatedUnion("kind", [httpTool, builtinTool]);

const scriptedTurn = z.union([
  z.strictObject({ text: z.string(), usage: z.strictObject({ input_tokens: z.number().int().nonnegative(), output_tokens: z.number().int().nonnegative() }).optional() }),
  z.strictObject({
    tool_calls: z.array(z.strictObject({ name: toolName, args: z.record(z.string(), json).default({}) })).min(1),
    usage: z.strictObject({ input_tokens: z.number().int().nonnegative(), output_tokens: z.number().int().nonnegative() }).optional(),
  }),
]);
export const scriptSchema = z.strictObject({ turns: z.array(scriptedTurn).min(1) });

const baseUrl = z.string().regex(/^https?:\/\//, "must be an http(s) URL");
const timeoutMs = z.number().int().positive().max(900_000).default(60_000);

export const providerSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("scripted"), script: id, retry }),
  /** OpenAI-compatible chat completions: OpenAI, Groq, vLLM, Ollama, Workers AI's OpenAI endpoint. */
  z.strictObject({ kind: z.literal("openai"), baseUrl, apiKeySecret: secretName.optional(), timeoutMs, retry }),
  /** Anthropic Messages API. */
  z.strictObject({ kind: z.literal("anthropic"), baseUrl: baseUrl.default("https://api.anthropic.com"), apiKeySecret: secretName.default("ANTHROPIC_API_KEY"), maxTokens: z.number().int().positive().max(1_000_000).default(4096), timeoutMs, retry }),
  /** The Workers AI binding (add `"ai": { "binding": "AI" }` to wrangler.jsonc). */
  z.strictObject({ kind: z.literal("workers-ai"), binding: z.string().regex(/^[A-Z][A-Z0-9_]*$/, "must name a binding such as AI").default("AI"), timeoutMs, retry }),
]);

export const workflowSchema = z.strictObject({
  id,
  version: z.number().int().positive(),
  description: z.string().optional(),
  input: z.record(z.string(), json).optional(),
  provider: providerSchema.default({ kind: "scripted", script: "default" }),
  scripts: z.record(id, scriptSchema).default({}),
  start: nodeId,
  nodes: z.record(nodeId, nodeSchema).refine((n) => Object.keys(n).length > 0, "must hold at least one node"),
  tools: z.record(toolName, toolSchema).default({}),
  memory: z.strictObject({ attributes: z.record(memoryName, memoryAttribute).default({}) }).default({ attributes: {} }),
  limits: z.strictObject({ maxSteps: z.number().int().positive().max(100_000).default(1000) }).default({ maxSteps: 1000 }),
  policy: z.record(z.string(), json).optional(),
});

export type WorkflowDocument = z.output<typeof workflowSchema>;
export type WorkflowNode = z.output<typeof nodeSchema>;
export type ToolDefinition = z.output<typeof toolSchema>;
export type ScriptedTurn = z.output<typeof scriptedTurn>;
export type MemoryNode = z.output<typeof memoryNode>;
export type MemoryAttribute = z.output<typeof memoryAttribute>;

export interface ValidationIssue {
  path: string;
  message: string;
}

export type ParseResult = { ok: true; document: WorkflowDocument } | { ok: false; errors: ValidationIssue[] };


/** Parses YAML or JSON text (or an already-parsed value) into a validated workflow document. */
export function parseWorkflow(source: string | unknown): ParseResult {
  let raw: unknown = source;
  if (typeof source === "string") {
    try {
      raw = parseYaml(source, { maxAliasCount: 100 });
    } catch (err) {
      return { ok: false, errors: [{ path: "(root)", message: `not valid YAML or JSON: ${(err as Error).message.split("\n")[0]}` }] };
    }
  }
  const parsed = workflowSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) };
  }
  const errors = [...checkGraph(parsed.data), ...checkPolicies(parsed.data)];
  return errors.length ? { ok: false, errors } : { ok: true, document: parsed.data };
}

/** The workflow's and each node's policy must be valid policy documents (CEL compiled). */
function checkPolicies(doc: WorkflowDocument): ValidationIssue[] {
  const errors: ValidationIssue[] = [];
  const check = (raw: unknown, at: string) => {
    const r = parsePolicy(raw);
    if (!r.ok) for (const e of r.errors) errors.push({ path: e.path === "(root)" ? at : `${at}.${e.path}`, message: e.message });
  };
  if (doc.policy) check(doc.policy, "policy");
  for (const [nid, node] of Object.entries(doc.nodes)) if ("policy" in node && node.policy) check(node.policy, `nodes.${nid}.policy`);
  return errors;
}

function successors(node: WorkflowNode): string[] {
  switch (node.kind) {
    case "branch":
      return [...node.cases.map((c) => c.next), node.default];
    case "end":
      return [];
    case "llm":
    case "agent":
    case "tool":
      return node.onError ? [node.next, node.onError] : [node.next];
    case "wait":
      return [node.next];
    case "memory":
      return node.onError ? [node.next, node.onError] : [node.next];
    case "approval":
      return [node.onApprove, node.onReject];
    default:
      return [];
  }
}

function checkGraph(doc: WorkflowDocument): ValidationIssue[] {
  const errors: ValidationIssue[] = [];
  const ids = new Set(Object.keys(doc.nodes));
  if (!ids.has(doc.start)) errors.push({ path: "start", message: `names node "${doc.start}", which does not exist` });
  for (const [nid, node] of Object.entries(doc.nodes)) {
    const at = `nodes.${nid}`;
    if (node.kind === "a2a") {
      errors.push({ path: `${at}.kind`, message: `node kind "${node.kind}" is reserved and not supported yet` });
      continue;
    }
    const refs: Array<[string, string]> = [];
    if (node.kind === "branch") {
      node.cases.forEach((c, i) => {
        refs.push([`${at}.cases[${i}].next`, c.next]);
        try {
          compileExpression(c.when);
        } catch (err) {
          errors.push({ path: `${at}.cases[${i}].when`, message: (err as ExpressionError).message.split("\n")[0] });
        }
      });
      refs.push([`${at}.default`, node.default]);
    } else if (node.kind === "approval") {
      refs.push([`${at}.onApprove`, node.onApprove], [`${at}.onReject`, node.onReject]);
      if (node.approvers.users.length + node.approvers.roles.length === 0) errors.push({ path: `${at}.approvers`, message: "must name at least one user or role" });
      if (node.approvers.roles.length === 0 && node.approvers.quorum > new Set(node.approvers.users).size + node.escalate.reduce((n, e) => n + e.to.users.length + e.to.roles.length * 100, 0)) {
        errors.push({ path: `${at}.approvers.quorum`, message: `quorum ${node.approvers.quorum} can never be reached by the ${new Set(node.approvers.users).size} named approver(s)` });
      }
      let last = 0;
      node.escalate.forEach((e, i) => {
        const after = parseDuration(e.after);
        if (after <= last) errors.push({ path: `${at}.escalate[${i}].after`, message: "escalation steps must come later than the previous one" });
        last = after;
      });
      if (node.timeout && parseDuration(node.timeout.after) <= last) errors.push({ path: `${at}.timeout.after`, message: "the timeout must come after the last escalation" });
    } else if (node.kind === "llm" || node.kind === "agent" || node.kind === "tool" || node.kind === "wait" || node.kind === "memory") {
      refs.push([`${at}.next`, node.next]);
      if (node.kind !== "wait" && node.onError) refs.push([`${at}.onError`, node.onError]);
      if (node.kind === "memory" && !node.read === !node.write) errors.push({ path: at, message: "a memory node needs exactly one of read or write" });
    }
    for (const [path, target] of refs) if (!ids.has(target)) errors.push({ path, message: `names node "${target}", which does not exist` });
    if (node.kind === "agent") {
      node.tools.forEach((t, i) => {
        if (!doc.tools[t]) errors.push({ path: `${at}.tools[${i}]`, message: `names tool "${t}", which is not defined under tools` });
      });
    }
    if (node.kind === "tool" && !doc.tools[node.tool]) errors.push({ path: `${at}.tool`, message: `names tool "${node.tool}", which is not defined under tools` });
  }
  if (doc.provider.kind === "scripted" && Object.values(doc.nodes).some((n) => n.kind === "llm" || n.kind === "agent") && !doc.scripts[doc.provider.script]) {
    errors.push({ path: "provider.script", message: `names script "${doc.provider.script}", which is not defined under scripts` });
  }
  if (errors.length) return errors;
  // Every node reachable from start must be able to reach an end node: a cycle without an exit is an error.
  const canFinish = new Set<string>();
  let changed = true;
  while (changed) {
    changed = false;
    for (const [nid, node] of Object.entries(doc.nodes)) {
      if (canFinish.has(nid)) continue;
      if (node.kind === "end" || successors(node).some((s) => canFinish.has(s))) {
        canFinish.add(nid);
        changed = true;
      }
    }
  }
  const seen = new Set<string>([doc.start]);
  const queue = [doc.start];
  while (queue.length) {
    const nid = queue.shift()!;
    for (const s of successors(doc.nodes[nid])) if (!seen.has(s)) (seen.add(s), queue.push(s));
  }
  for (const nid of seen) {
    if (!canFinish.has(nid)) errors.push({ path: `nodes.${nid}`, message: "cannot reach an end node (a cycle without an exit)" });
  }
  return errors;
}
