/**
 * `npm run bench`: every benchmark in turn, each a separate Node process (each also runs alone):
 *   node bench/replay-throughput.ts   replay throughput of the pure interpreter (bench/results/replay.json)
 *   node bench/engine.ts              Warden in local workerd vs LangGraph JS (bench/results/engine.json)
 *   node bench/approvals.ts           runs parked on approvals: resume latency and holding cost (bench/results/approvals.json)
 *   node bench/policy.ts              policy decision latency: Warden vs naive CEL vs Cedar wasm (bench/results/policy.json)
 *   node bench/audit.ts               audit shipping, lag under load, verification, redaction quality (bench/results/audit.json)
 *   node bench/memory.ts              agent memory with 100,000 facts: write, read, as-of latency (bench/results/memory.json)
 *   node bench/budgets.ts             budget reservation + settlement per model call; 100 runs on one budget (bench/results/budgets.json)
 * Arguments after `--` go to every benchmark (e.g. `npm run bench -- --quick`); `--only <name>` picks one.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const benches = [
  { name: "replay", script: "bench/replay-throughput.ts" },
  { name: "engine", script: "bench/engine.ts" },
  { name: "approvals", script: "bench/approvals.ts" },
  { name: "policy", script: "bench/policy.ts" },
  { name: "audit", script: "bench/audit.ts" },
  { name: "memory", script: "bench/memory.ts" },
  { name: "budgets", script: "bench/budgets.ts" },
];
const args = process.argv.slice(2);
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : null;
const passArgs = args.filter((a, i) => a !== "--only" && args[i - 1] !== "--only");
const root = join(import.meta.dirname, "..");
let failed = 0;
for (const b of benches) {
  if (only && b.name !== only) continue;
  console.log(`\n=== ${b.name}: node ${b.script} ${passArgs.join(" ")}`.trimEnd());
  const r = spawnSync(process.execPath, [b.script, ...(b.name === "replay" ? [] : passArgs)], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`${b.name} failed (exit ${r.status ?? r.signal})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
