/**
 * `wrangler dev` (local workerd) for the benchmarks, on a snapshot of the Worker's sources:
 * wrangler watches its sources and reloads the Worker on every change, which would spoil a
 * benchmark while src/ is being edited, so it runs on a copy taken now (node_modules linked).
 * State is persisted to a fresh temp dir (`--persist-to`), removed on stop.
 *
 * wrangler dev's own local-dev collectors are off unless asked for (`devCollectors`): its trace
 * collector (`X_LOCAL_OBSERVABILITY`, on by default) writes every invocation's tail events into a
 * SQLite database of its own, committed on workerd's one thread (about half of all page writes in
 * a budgets run), and its local explorer (`X_LOCAL_EXPLORER`) inspects Durable Objects. Neither
 * exists in deployed Workers or in a self-hosted workerd, so with them on a benchmark measures
 * wrangler's tooling as much as the Worker.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "./stats.ts";

export interface WranglerDev {
  readonly child: ChildProcess;
  readonly base: string;
  readonly persistDir: string;
  /** the snapshot the Worker runs from (null: a config run in place) */
  readonly workerDir: string | null;
  /** Reloads seen in wrangler's output (an edit under the snapshot would spoil the numbers). */
  reloads(): number;
  /** The last 20,000 characters of wrangler's output. */
  output(): string;
  stop(): Promise<void>;
}

const live = new Set<WranglerDev>();

/** The environment that turns wrangler dev's local trace collector and explorer on or off. */
export function devCollectorEnv(on: boolean): Record<string, string> {
  return { X_LOCAL_OBSERVABILITY: String(on), X_LOCAL_EXPLORER: String(on) };
}

export function snapshotWorker(root: string): string {
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-src-"));
  for (const f of ["src", "durable-objects", "migrations", "wrangler.jsonc", "package.json", "tsconfig.json"]) if (existsSync(join(root, f))) cpSync(join(root, f), join(dir, f), { recursive: true });
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/**
 * Starts wrangler dev on 127.0.0.1:port and waits (at most 120 s) for GET /healthz; `vars` become
 * `--var K:V`. The Worker is a snapshot of `root`'s, or (`config`) another Worker of the repo's,
 * run in place (the bench's own fixtures, which nobody edits during a bench).
 */
export async function startWranglerDev(opts: { root: string; port: number; inspectorPort: number; vars: Record<string, string>; devCollectors?: boolean; config?: string }): Promise<WranglerDev> {
  const { root, port, inspectorPort } = opts;
  const persistDir = mkdtempSync(join(tmpdir(), "warden-bench-persist-"));
  const workerDir = opts.config ? null : snapshotWorker(root);
  const vars = Object.entries(opts.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const child = spawn(
    join(root, "node_modules", ".bin", "wrangler"),
    ["dev", ...(opts.config ? ["--config", opts.config] : []), "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistDir, ...vars, "--show-interactive-dev-session=false", "--inspector-port", String(inspectorPort)],
    { cwd: workerDir ?? root, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false", CI: "true", ...devCollectorEnv(opts.devCollectors ?? false) } },
  );
  let output = "";
  let reloads = 0;
  child.stdout?.on("data", (d) => (output = (output + String(d)).slice(-20_000)));
  child.stderr?.on("data", (d) => (output = (output + String(d)).slice(-20_000)));
  child.stdout?.on("data", (d) => {
    if (/reload|rebuild|change detected/i.test(String(d))) reloads++;
  });
  let stopped = false;
  const dev: WranglerDev = {
    child,
    base: `http://127.0.0.1:${port}`,
    persistDir,
    workerDir,
    reloads: () => reloads,
    output: () => output,
    async stop() {
      if (stopped) return;
      stopped = true;
      live.delete(dev);
      if (child.exitCode === null && child.pid) {
        const exited = new Promise((r) => child.once("exit", r));
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          /* already gone */
        }
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null) {
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {
            /* already gone */
          }
        }
      }
      rmSync(persistDir, { recursive: true, force: true });
      if (workerDir) rmSync(workerDir, { recursive: true, force: true });
    },
  };
  live.add(dev);
  for (let i = 0; i < 1200; i++) {
    try {
      if ((await fetch(`${dev.base}/healthz`)).ok) return dev;
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null) {
      await dev.stop();
      throw new Error(`wrangler dev exited early:\n${output}`);
    }
    await sleep(100);
  }
  await dev.stop();
  throw new Error(`wrangler dev did not come up in 120 s:\n${output}`);
}

/** Stops every wrangler dev this process started (for cleanup paths and signal handlers). */
export async function stopAllWranglerDev(): Promise<void> {
  await Promise.all([...live].map((d) => d.stop()));
}
