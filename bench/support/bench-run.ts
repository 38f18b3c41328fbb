/**
 * What every benchmark does around its measurements: a hard deadline and signal handling that
 * clean up (stop wrangler dev, sqld) and exit; running `main` with the cleanup after it; and
 * writing `bench/results/<name>.json` and the `## <name>` section of bench/RESULTS.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Stops the benchmark (cleanup, exit 1) if it runs past `deadlineMs`, and cleans up on Ctrl-C. */
export function guardBench(name: string, deadlineMs: number, cleanup: () => Promise<void>): NodeJS.Timeout {
  const timer = setTimeout(() => {
    console.error(`${name} bench: exceeded ${deadlineMs / 1000} s, stopping`);
    void cleanup().then(() => process.exit(1));
  }, deadlineMs);
  timer.unref();
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void cleanup().then(() => process.exit(130)));
  return timer;
}

/** Runs `main`; an error sets exit code 1; the cleanup runs either way. */
export function runBench(main: () => Promise<void>, cleanup: () => Promise<void>, timer: NodeJS.Timeout): void {
  main()
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(async () => {
      await cleanup();
      clearTimeout(timer);
    });
}

/** bench/results/<name>.json ({ bench, date, command, metrics }) and the `## <name>` section of bench/RESULTS.md (replaced, or appended). */
export function writeBenchResults(root: string, name: string, date: string, metrics: Record<string, number>, section: string, command = `node bench/${name}.ts`): void {
  mkdirSync(join(root, "bench", "results"), { recursive: true });
  writeFileSync(join(root, "bench", "results", `${name}.json`), `${JSON.stringify({ bench: name, date, command, metrics }, null, 2)}\n`);
  const file = join(root, "bench", "RESULTS.md");
  const md = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmark results\n";
  const heading = new RegExp(`\\n## ${name}\\n`);
  writeFileSync(file, heading.test(md) ? md.replace(new RegExp(`## ${name}\\n[\\s\\S]*?(?=\\n## |$)`), section) : `${md.trimEnd()}\n\n${section}`);
}
