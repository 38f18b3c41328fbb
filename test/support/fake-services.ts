/**
 * Local stand-ins for paid third parties and tool endpoints, on 127.0.0.1 only:
 * an OpenAI-compatible chat completions endpoint and a tool server. Both count every request
 * by Idempotency-Key so tests can prove no completed step was executed twice.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { fakeAnthropic, fakeOpenAi } from "./fake-model-servers.ts";

export interface RecordedCall {
  kind: "llm" | "tool";
  path: string;
  method: string;
  idempotencyKey: string | null;
  authorization: string | null;
  apiKey: string | null;
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
      apiKey: (req.headers["x-api-key"] as string | undefined) ?? null,
      body,
    };
    calls.push(call);
    const log = { attemptsFor: (key: string | null) => calls.filter((c) => c.path === call.path && c.idempotencyKey === key).length };
    if (call.kind === "llm") return fakeOpenAi(req, res, body as Record<string, unknown>, log);
    if (url.pathname === "/v1/messages") {
      call.kind = "llm";
      return fakeAnthropic(req, res, body as Record<string, unknown>, log);
    }
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
