#!/usr/bin/env node
/**
 * The claims, fraud and payments services the example workflows call, on 127.0.0.1 only.
 * The Worker routes `claims.example`, `fraud.example` and `payments.example` here through
 * OUTBOUND_HOSTS (keeping the path), so each service owns a unique path:
 *   GET  /api/claims/:id   claims service: the claim record
 *   POST /score            fraud service: a fraud score (requires `authorization: Bearer <FRAUD_KEY>`)
 *   POST /payouts          payments service: creates a payout; idempotent by Idempotency-Key
 *   GET  /healthz          liveness
 * Every request is logged (method, path, idempotency-key) to stdout.
 *
 * Run directly: `node scripts/example-services.mjs` (port from EXAMPLE_SERVICES_PORT, default 8790),
 * or import { startExampleServices } and call it with a port (0 = any free port).
 */
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";

/** Fixed demo claims; any other id gets a plausible generated record. */
const CLAIMS = {
  "CLM-1001": { claimId: "CLM-1001", policy: "HOME-88231", peril: "water damage", covered: true, priorClaims: 0 },
  "CLM-2002": { claimId: "CLM-2002", policy: "AUTO-11902", peril: "collision", covered: true, priorClaims: 1 },
  "CLM-6666": { claimId: "CLM-6666", policy: "HOME-00013", peril: "fire", covered: true, priorClaims: 5 },
};

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * @param {number} [port] TCP port on 127.0.0.1 (0 = any free port)
 * @param {{ fraudKey?: string, log?: (line: string) => void }} [opts]
 * @returns {Promise<{ server: import("node:http").Server, port: number, url: string, close: () => Promise<void> }>}
 */
export async function startExampleServices(port = Number(process.env.EXAMPLE_SERVICES_PORT ?? 8790), opts = {}) {
  const fraudKey = opts.fraudKey ?? process.env.FRAUD_KEY ?? "dev-fraud-key";
  const log = opts.log ?? ((line) => console.log(line));
  /** Payouts by Idempotency-Key: a repeated request gets the same payout, never a second one. */
  const payouts = new Map();

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const key = req.headers["idempotency-key"] ?? "-";
    const host = String(req.headers.host ?? "").split(":")[0];
    const json = (status, value) => {
      log(`${req.method} ${url.pathname} host=${host} idempotency-key=${key} -> ${status}`);
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    let text;
    try {
      text = await readBody(req);
    } catch {
      return json(400, { error: "could not read the request body" });
    }
    let body = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        return json(400, { error: "the body must be JSON" });
      }
    }
    const path = url.pathname;

    if (path === "/healthz" && req.method === "GET") return json(200, { ok: true, services: ["claims", "fraud", "payments"] });

    // claims service
    const claim = /^\/api\/claims\/([^/]+)$/.exec(path);
    if (claim) {
      if (req.method !== "GET") return json(405, { error: "use GET" });
      const id = decodeURIComponent(claim[1]);
      if (!id) return json(404, { error: "no such claim" });
      const rec = CLAIMS[id] ?? { claimId: id, policy: `POL-${id.replace(/\W/g, "").slice(-5) || "00000"}`, peril: "storm", covered: true, priorClaims: 0 };
      return json(200, rec);
    }

    // fraud service
    if (path === "/score") {
      if (req.method !== "POST") return json(405, { error: "use POST" });
      if (req.headers.authorization !== `Bearer ${fraudKey}`) return json(401, { error: "missing or wrong fraud API key" });
      const id = String(body?.claimId ?? "");
      const prior = CLAIMS[id]?.priorClaims ?? 0;
      const score = Math.min(0.99, 0.05 + prior * 0.17);
      return json(200, { claimId: id, score: Number(score.toFixed(2)), band: score < 0.3 ? "low" : score < 0.7 ? "medium" : "high" });
    }

    // payments service
    if (path === "/payouts") {
      if (req.method !== "POST") return json(405, { error: "use POST" });
      if (key === "-") return json(400, { error: "an Idempotency-Key header is required" });
      const amount = Number(body?.amount);
      if (!body?.claimId || !Number.isFinite(amount) || amount <= 0) return json(422, { error: "claimId and a positive amount are required" });
      const existing = payouts.get(key);
      if (existing) return json(200, { ...existing, replayed: true });
      const payout = { payoutId: `po_${randomUUID().slice(0, 8)}`, claimId: body.claimId, amount, currency: "EUR", status: "scheduled" };
      payouts.set(key, payout);
      return json(201, payout);
    }

    return json(404, { error: `no route for ${req.method} ${path}` });
  });

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const actual = server.address().port;
  return {
    server,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const svc = await startExampleServices().catch((err) => {
    console.error(`example services could not start: ${err.message}`);
    process.exit(1);
  });
  console.log(`example services (claims, fraud, payments) listening on ${svc.url}`);
  const stop = () => svc.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
