/**
 * The engine benchmark's floor (bench/engine.ts): the least that any engine keeping one Durable
 * Object per run, with every step durable before the next, does on workerd for the benchmark's
 * 5-step workflow (llm → tool → branch → tool → end), behind the same HTTP surface the bench
 * client uses (POST /v1/runs → 201 { id }; GET /v1/runs/:id[?wait=S] → { status }, answered once
 * the run has completed or after S seconds, as Warden's is).
 *
 * Per run: the start request creates the run's object, which writes its first event in one
 * SQLite transaction and answers; the work then runs in the background: each step is one
 * transaction, and each call step one more before its call (the llm "call" is scripted, no
 * I/O; the two tools are POSTs to the bench's tool server, with the same Idempotency-Key shape
 * Warden sends). No authentication, policy, budget, audit trail, index or alarm: each of those
 * is Warden's own cost on top of this floor.
 */
import { DurableObject } from "cloudflare:workers";

interface Env {
  FLOOR_RUN: DurableObjectNamespace<FloorRun>;
  /** the bench's tool server */
  TOOLS_URL: string;
}

type Step = { node: string; call?: { tool: string } };
const STEPS: Step[] = [{ node: "assess", call: { tool: "" } }, { node: "lookup", call: { tool: "score" } }, { node: "route" }, { node: "pay", call: { tool: "pay" } }, { node: "done" }];

export class FloorRun extends DurableObject<Env> {
  private seq = 0;
  private status = "none";
  private readonly waiters = new Set<() => void>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, at INTEGER NOT NULL, data TEXT NOT NULL)`);
  }

  private append(type: string, data: unknown): void {
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec(`INSERT INTO events (seq, type, at, data) VALUES (?, ?, ?, ?)`, ++this.seq, type, Date.now(), JSON.stringify(data));
    });
  }

  async start(runId: string, input: unknown): Promise<void> {
    this.append("run.started", { runId, input });
    this.status = "running";
    this.ctx.waitUntil(this.drive(runId, this.env.TOOLS_URL));
  }

  private async drive(runId: string, toolUrl: string): Promise<void> {
    for (const [i, step] of STEPS.entries()) {
      if (!step.call) {
        this.append(i === STEPS.length - 1 ? "run.completed" : "branch.taken", { node: step.node });
        continue;
      }
      this.append("call.started", { node: step.node }); // workerd's output gate holds the call until this is durable
      let result: unknown = { recommendation: "pay" };
      if (step.call.tool) {
        const res = await fetch(`${toolUrl}/${step.call.tool}`, { method: "POST", headers: { "content-type": "application/json", "idempotency-key": `${runId}/${step.node}` }, body: JSON.stringify({ node: step.node }) });
        result = await res.json();
      }
      this.append("call.completed", { node: step.node, result });
    }
    this.status = "completed";
    for (const wake of [...this.waiters]) wake();
  }

  async summary(waitMs: number): Promise<{ id: string; status: string }> {
    if (waitMs > 0 && this.status === "running") {
      await new Promise<void>((resolve) => {
        const wake = () => (clearTimeout(timer), this.waiters.delete(wake), resolve());
        const timer = setTimeout(wake, Math.min(waitMs, 60_000));
        this.waiters.add(wake);
      });
    }
    return { id: this.ctx.id.name ?? "", status: this.status };
  }
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/healthz") return new Response("ok");
    if (req.method === "POST" && url.pathname === "/v1/runs") {
      const body = (await req.json()) as { input: unknown };
      const id = crypto.randomUUID();
      await env.FLOOR_RUN.get(env.FLOOR_RUN.idFromName(id)).start(id, body.input);
      return Response.json({ id }, { status: 201 });
    }
    const m = /^\/v1\/runs\/([\w-]+)$/.exec(url.pathname);
    if (req.method === "GET" && m) return Response.json(await env.FLOOR_RUN.get(env.FLOOR_RUN.idFromName(m[1])).summary(Number(url.searchParams.get("wait") ?? 0) * 1000));
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
