/**
 * Local stand-ins for paid third parties and tool endpoints, on 127.0.0.1 only:
 * an OpenAI-compatible chat completions endpoint and a tool server. Both count every request
 * by Idempotency-Key so tests can prove no completed step was executed twice.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";

export interface RecordedCall {
  kind: "llm" | "tool";
  path: string;
  method: string;
  idempotencyKey: string | null;
  authorization: string | null;
  body: unknown;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

interface ChatBody {
  messages: Array<{ role: string; content?: string | null }>;
  tools?: Array<{ function: { name: string } }>;
}

/** Deterministic model: with tools and no tool result yet, call the first tool; otherwise answer in JSON. */
function chatAnswer(body: ChatBody) {
  const hasToolResult = body.messages.some((m) => m.role === "tool");
  if (body.tools?.length && !hasToolResult) {
    const user = body.messages.find((m) => m.role === "user")?.content ?? "";
    const claimId = /claim\s+(\S+)/i.exec(user)?.[1] ?? "unknown";
    return { choices: [{ index: 0, finish_reason: "tool_calls", message: { role: "assistant", content: null, tool_calls: [{ id: "call_fake_1", type: "function", function: { name: body.tools[0].function.name, arguments: JSON.stringify({ claimId }) } }] } }], usage: { prompt_tokens: 50, completion_tokens: 10 } };
  }
  const content = hasToolResult ? '{"recommendation":"pay","summary":"fake model saw the tool result"}' : '{"risk":"low","note":"fake model"}';
  return { choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content } }], usage: { prompt_tokens: 40, completion_tokens: 12 } };
}

export function startFakeServices(port = 0): Promise<{ server: Server; port: number; calls: RecordedCall[] }> {
  const calls: RecordedCall[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const text = await readBody(req);
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      /* keep text */
    }
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (url.pathname === "/__calls") {
      const prefix = url.searchParams.get("prefix") ?? "";
      return json(200, calls.filter((c) => (c.idempotencyKey ?? "").startsWith(prefix)));
    }
    const call: RecordedCall = {
      kind: url.pathname.endsWith("/chat/completions") ? "llm" : "tool",
      path: url.pathname,
      method: req.method ?? "GET",
      idempotencyKey: (req.headers["idempotency-key"] as string | undefined) ?? null,
      authorization: (req.headers.authorization as string | undefined) ?? null,
      body,
    };
    calls.push(call);
    if (call.kind === "llm") return json(200, chatAnswer(body as ChatBody));
    if (url.pathname.startsWith("/tools/status/")) return json(Number(url.pathname.split("/").pop()), { error: "as requested" });
    if (url.pathname === "/tools/flaky") {
      const seen = calls.filter((c) => c.idempotencyKey === call.idempotencyKey).length;
      return seen < 3 ? json(503, { error: "try again" }) : json(200, { ok: true, attempts: seen });
    }
    if (url.pathname === "/tools/big") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ blob: "x".repeat(Number(url.searchParams.get("bytes") ?? 5_000_000)) }));
    }
    if (url.pathname === "/tools/slow") {
      await new Promise((r) => setTimeout(r, Number(url.searchParams.get("ms") ?? 1000)));
      return json(200, { ok: true, slow: true });
    }
    return json(200, { ok: true, path: url.pathname, method: call.method, received: body, score: 0.12 });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port, calls })));
}
