/**
 * The LangGraph JS peer of bench/engine.ts: the same 5-step workflow
 * (llm → tool → branch → tool → end) as a StateGraph with a file-backed SqliteSaver
 * checkpointer (durable state), a deterministic fake chat model (no network), tool nodes doing
 * a real HTTP call to the bench's local tool server, and a conditional edge for the branch.
 *
 * Run by bench/engine.ts as a separate Node process from this folder; prints one JSON object
 * on stdout. Alone: `node langgraph-bench.mjs --tool-url http://127.0.0.1:PORT` (needs a tool
 * server answering POST /score and POST /pay with JSON).
 *
 * Options: --tool-url URL (required), --warmup N, --sequential N, --concurrent N,
 * --concurrency C, --rounds R (concurrent rounds), --durability async|sync|exit (LangGraph's default is async).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { HumanMessage } from "@langchain/core/messages";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const toolUrl = args["tool-url"];
if (!toolUrl) throw new Error("--tool-url is required");
const WARMUP = Number(args.warmup ?? 20);
const SEQUENTIAL = Number(args.sequential ?? 200);
const CONCURRENT = Number(args.concurrent ?? 500);
const CONCURRENCY = Number(args.concurrency ?? 50);
const ROUNDS = Number(args.rounds ?? 1);
const DURABILITY = args.durability ?? "async";
const STEPS = 5;

const dir = mkdtempSync(join(tmpdir(), "warden-bench-langgraph-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true })); // also when anything below throws
const checkpointer = SqliteSaver.fromConnString(join(dir, "checkpoints.sqlite"));

// One fake model per graph, always the same answer (FakeListChatModel cycles its list).
const model = new FakeListChatModel({ responses: ['{"recommendation":"pay"}'] });

const State = Annotation.Root({
  input: Annotation(),
  assessment: Annotation(),
  lookupResult: Annotation(),
  payResult: Annotation(),
  output: Annotation(),
  // time spent inside the calls themselves (model + HTTP), to subtract from the wall time
  callMs: Annotation({ reducer: (a, b) => a + b, default: () => 0 }),
});

async function postJson(path, body, key) {
  const res = await fetch(`${toolUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", "idempotency-key": key },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`tool ${path} answered ${res.status}`);
  return res.json();
}

const graph = new StateGraph(State)
  .addNode("assess", async (s, config) => {
    const t = performance.now();
    const msg = await model.invoke([new HumanMessage(`Claim ${s.input.claimId} for ${s.input.amount}`)]);
    const callMs = performance.now() - t;
    return { assessment: JSON.parse(String(msg.content)), callMs };
  })
  .addNode("lookup", async (s, config) => {
    const t = performance.now();
    const body = await postJson("/score", { claimId: s.input.claimId }, `${config.configurable.thread_id}/lookup`);
    return { lookupResult: body, callMs: performance.now() - t };
  })
  .addNode("pay", async (s, config) => {
    const t = performance.now();
    const body = await postJson("/pay", { claimId: s.input.claimId, amount: s.input.amount }, `${config.configurable.thread_id}/pay`);
    return { payResult: body, callMs: performance.now() - t };
  })
  .addNode("done", async (s) => ({ output: { status: s.payResult ? "paid" : "denied", score: s.lookupResult.score } }))
  .addEdge(START, "assess")
  .addEdge("assess", "lookup")
  .addConditionalEdges("lookup", (s) => (s.assessment.recommendation === "pay" && s.lookupResult.score < 0.5 ? "pay" : "done"), ["pay", "done"])
  .addEdge("pay", "done")
  .addEdge("done", END)
  .compile({ checkpointer });

let threadSeq = 0;
async function oneRun() {
  const threadId = `run-${process.pid}-${++threadSeq}`;
  const t = performance.now();
  const out = await graph.invoke({ input: { claimId: `C-${threadSeq}`, amount: 50 } }, { configurable: { thread_id: threadId }, durability: DURABILITY });
  const wallMs = performance.now() - t;
  if (out.output?.status !== "paid") throw new Error(`unexpected output ${JSON.stringify(out.output)}`);
  return { wallMs, callMs: out.callMs, overheadPerStepMs: (wallMs - out.callMs) / STEPS, threadId };
}

async function pool(n, concurrency) {
  const results = [];
  let next = 0;
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        next++;
        results.push(await oneRun());
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { results, elapsedMs: performance.now() - t, cpuMs: (cpu.user + cpu.system) / 1000 };
}

try {
  for (let i = 0; i < WARMUP; i++) await oneRun();
  await pool(Math.min(CONCURRENT, CONCURRENCY * 2), CONCURRENCY); // concurrent warm-up
  const seq = [];
  for (let i = 0; i < SEQUENTIAL; i++) seq.push(await oneRun());
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await pool(CONCURRENT, CONCURRENCY));
  // durable: the last run's final checkpoint is on disk and readable
  const last = seq[seq.length - 1];
  const saved = await checkpointer.getTuple({ configurable: { thread_id: last.threadId } });
  if (!saved?.checkpoint?.channel_values?.output) throw new Error("the final checkpoint was not found in SQLite");
  process.stdout.write(
    `${JSON.stringify({
      peer: "langgraph",
      versions: {
        "@langchain/langgraph": JSON.parse(readFileSync(new URL("./node_modules/@langchain/langgraph/package.json", import.meta.url), "utf8")).version,
        "@langchain/langgraph-checkpoint-sqlite": JSON.parse(readFileSync(new URL("./node_modules/@langchain/langgraph-checkpoint-sqlite/package.json", import.meta.url), "utf8")).version,
        node: process.version,
      },
      durability: DURABILITY,
      sequential: seq.map(({ wallMs, callMs, overheadPerStepMs }) => ({ wallMs, callMs, overheadPerStepMs })),
      rounds: rounds.map((c) => ({ runs: c.results.length, concurrency: CONCURRENCY, elapsedMs: c.elapsedMs, runsPerS: c.results.length / (c.elapsedMs / 1000), cpuMs: c.cpuMs, overheadPerStepMs: c.results.map((r) => r.overheadPerStepMs) })),
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
