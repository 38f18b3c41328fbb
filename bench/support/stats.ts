/** Small helpers shared by the benchmarks: percentiles, rounding, free ports, process CPU time, the tree's git state. */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer as createNetServer } from "node:net";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
/** Nearest-rank percentile; NaN for an empty list. */
export function pct(xs: number[], p: number): number {
  const s = sorted(xs);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
export const median = (xs: number[]) => pct(xs, 50);
export const r2 = (x: number) => +x.toFixed(2);
export const r3 = (x: number) => +x.toFixed(3);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** CPU time (user + system, ms) of a process from /proc; 0 if it is gone. */
export function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return 0;
  }
}

/** The processes under wrangler dev, labelled: the wrangler CLI (Node), the workerd running the Worker, the workerd running wrangler's proxy. */
export function wranglerProcesses(rootPid: number): Array<{ pid: number; label: string }> {
  const all: Array<{ pid: number; ppid: number; cmd: string }> = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      all.push({ pid: Number(d), ppid, cmd: readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " ") });
    } catch {
      /* gone */
    }
  }
  const mine = new Set([rootPid]);
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of all) if (!mine.has(p.pid) && mine.has(p.ppid)) (mine.add(p.pid), (changed = true));
  }
  return all
    .filter((p) => mine.has(p.pid))
    .map((p) => ({ pid: p.pid, label: p.cmd.includes("workerd") ? (p.cmd.includes("--inspector-addr") ? "workerd (the Worker and its Durable Objects)" : "workerd (wrangler's dev proxy)") : p.cmd.includes("esbuild") ? "esbuild (wrangler's bundler, watching)" : p.cmd.includes("wrangler") ? "wrangler CLI (Node)" : p.cmd.slice(0, 40) }));
}

export function cpuSnapshot(procs: Array<{ pid: number; label: string }>): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of procs) m.set(p.label, (m.get(p.label) ?? 0) + cpuMs(p.pid));
  m.set("bench client + tool server (this Node process)", (process.cpuUsage().user + process.cpuUsage().system) / 1000);
  return m;
}

/** `<short HEAD>` plus a note when src/ or durable-objects/ have uncommitted changes. */
export function gitState(root: string): string {
  const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).stdout.trim();
  const dirty = spawnSync("git", ["status", "--porcelain", "--", "src", "durable-objects"], { cwd: root, encoding: "utf8" }).stdout.trim();
  return head ? `${head}${dirty ? ` + ${dirty.split("\n").length} uncommitted file(s) under src/ and durable-objects/` : ""}` : "unknown";
}
