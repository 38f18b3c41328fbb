/**
 * `wrangler dev` (real workerd) stopped and restarted mid-run with --persist-to: the run's
 * Durable Object, its event log and its alarm survive, and the run finishes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mintToken } from "../../src/auth/tokens.ts";
import { freePort } from "../support/free-port.ts";

const SECRET = "restart-test-secret-restart-test-secret-0123";
const root = join(import.meta.dirname, "..", "..");
const persist = mkdtempSync(join(tmpdir(), "warden-persist-"));
const children: ChildProcess[] = [];


async function startWrangler(port: number): Promise<ChildProcess> {
  const child = spawn(
    join(root, "node_modules", ".bin", "wrangler"),
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist, "--var", `WARDEN_JWT_SECRET:${SECRET}`, "--show-interactive-dev-session=false", "--inspector-port", String(await freePort())],
    { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false", CI: "true" } as NodeJS.ProcessEnv },
  );
  children.push(child);
  let output = "";
  child.stdout?.on("data", (d) => (output += String(d)));
  child.stderr?.on("data", (d) => (output += String(d)));
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return child;
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`wrangler dev did not come up:\n${output}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || !child.pid) return;
  const exited = new Promise((r) => child.once("exit", r));
  process.kill(-child.pid, "SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
}

afterAll(async () => {
  for (const c of children) await stop(c);
  rmSync(persist, { recursive: true, force: true });
});

describe("wrangler dev restart", () => {
  it("keeps a run going across a stop and restart with --persist-to", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const token = await mintToken({ sub: "restart-test", tenant: "restart", roles: ["admin"] }, SECRET);
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    let dev = await startWrangler(port);
    const doc = { id: "sleepy", version: 1, start: "first", nodes: { first: { kind: "tool", tool: "echo", args: { n: 1 }, next: "nap" }, nap: { kind: "wait", for: "4s", next: "second" }, second: { kind: "tool", tool: "echo", args: { n: 2 }, next: "done" }, done: { kind: "end", output: "{{nodes.second.output.n}}" } }, tools: { echo: { kind: "builtin", builtin: "echo" } } };
    expect((await fetch(`${base}/v1/workflows`, { method: "POST", headers, body: JSON.stringify(doc) })).status).toBe(201);
    const run = (await (await fetch(`${base}/v1/runs`, { method: "POST", headers, body: JSON.stringify({ workflow: "sleepy", input: {} }) })).json()) as { id: string };
    let status = "";
    for (let i = 0; i < 100 && status !== "waiting"; i++) {
      status = ((await (await fetch(`${base}/v1/runs/${run.id}`, { headers })).json()) as { status: string }).status;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe("waiting");
    await stop(dev);
    dev = await startWrangler(port);
    let final: { status: string; output: unknown } = { status: "", output: null };
    for (let i = 0; i < 300 && final.status !== "completed"; i++) {
      final = (await (await fetch(`${base}/v1/runs/${run.id}`, { headers })).json()) as { status: string; output: unknown };
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(final).toMatchObject({ status: "completed", output: 2 });
    const log = (await (await fetch(`${base}/v1/runs/${run.id}/events`, { headers })).text()).trim().split("\n").map((l) => JSON.parse(l) as { type: string });
    expect(log.filter((e) => e.type === "tool.started")).toHaveLength(2);
    expect(log.filter((e) => e.type === "run.started")).toHaveLength(1);
    await stop(dev);
  });
});
