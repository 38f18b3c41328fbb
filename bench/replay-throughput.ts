/**
 * Replay throughput of the pure interpreter in plain Node: full replay (fold + re-deciding and
 * checking every decision) against the baseline of folding alone, on the same logs.
 * Run alone: `node bench/replay-throughput.ts [--no-write]` (Node 22 strips the types); `npm run bench` runs every benchmark.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fold } from "../src/engine/fold.ts";
import { replay } from "../src/engine/replay.ts";
import { Harness, defaultObserver, type Observer } from "../test/unit/interpreter-harness.ts";
import { writeBenchResults } from "./support/bench-run.ts";

const doc = {
  id: "bench",
  version: 1,
  provider: { kind: "scripted", script: "s" },
  scripts: { s: { turns: [{ text: "x" }] } },
  start: "assess",
  nodes: {
    assess: { kind: "agent", model: "m", prompt: "Claim {{input.claimId}}", tools: ["lookup"], maxIterations: 4, next: "route" },
    route: { kind: "branch", cases: [{ when: "nodes.assess.output.recommendation == 'pay' && input.amount <= 100", next: "pay" }], default: "done" },
    pay: { kind: "tool", tool: "lookup", args: { amount: "{{input.amount}}" }, next: "done" },
    done: { kind: "end", output: { status: "ok" } },
  },
  tools: { lookup: { kind: "builtin", builtin: "echo" } },
};
const observer: Observer = (call, state) =>
  call.kind === "llm"
    ? { type: "llm.completed", data: { node: call.node, callId: call.callId, response: state.cursor?.agent?.iteration === 1 ? { text: null, toolCalls: [{ id: "t", name: "lookup", args: { claimId: "C" } }], usage: { inputTokens: 1, outputTokens: 1 } } : { text: '{"recommendation":"pay"}', toolCalls: [], usage: { inputTokens: 1, outputTokens: 1 } } } }
    : defaultObserver(call, state);

const h = new Harness(doc, { claimId: "C", amount: 50 });
h.run(observer);
const log = h.events;
const ROUNDS = 20_000;

function time(fn: () => void): number[] {
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return samples.sort((a, b) => a - b);
}
const pct = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];

for (let i = 0; i < 2000; i++) (fold(log), replay(log)); // warm-up
const foldOnly = time(() => fold(log));
const full = time(() => {
  if (!replay(log).ok) throw new Error("replay diverged");
});
const sum = (s: number[]) => s.reduce((a, b) => a + b, 0);
const metrics = {
  "replay.events_per_s": Math.round((log.length * ROUNDS) / (sum(full) / 1000)),
  "replay.p50_ms_per_run": +pct(full, 50).toFixed(4),
  "replay.p99_ms_per_run": +pct(full, 99).toFixed(4),
  "fold.events_per_s": Math.round((log.length * ROUNDS) / (sum(foldOnly) / 1000)),
  "replay_vs_fold.ratio": +(sum(full) / sum(foldOnly)).toFixed(2),
};
console.log(`replay throughput: ${log.length}-event log (agent with a tool call, branch, tool, end), ${ROUNDS} rounds`);
console.table({ "fold only (baseline)": { "events/s": metrics["fold.events_per_s"], "p50 ms/run": +pct(foldOnly, 50).toFixed(4), "p99 ms/run": +pct(foldOnly, 99).toFixed(4) }, "full replay (fold + decide + compare)": { "events/s": metrics["replay.events_per_s"], "p50 ms/run": metrics["replay.p50_ms_per_run"], "p99 ms/run": metrics["replay.p99_ms_per_run"] } });
console.log(`full replay costs ${metrics["replay_vs_fold.ratio"]}x folding alone`);
if (!process.argv.includes("--no-write")) {
  const date = new Date().toISOString();
  const section = `## replay\n\n\`node bench/replay-throughput.ts\` (${date.slice(0, 10)}): a ${log.length}-event run replayed ${ROUNDS} times in plain Node.\n\n| metric | value |\n| --- | --- |\n${Object.entries(metrics).map(([k, v]) => `| ${k} | ${v} |`).join("\n")}\n`;
  writeBenchResults(join(dirname(fileURLToPath(import.meta.url)), ".."), "replay", date, metrics, section, "node bench/replay-throughput.ts");
}
