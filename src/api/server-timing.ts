/**
 * `Server-Timing` (W3C) for the parts of a request an operator wants to see apart, e.g. the call
 * to a memory object: `Server-Timing: memory;dur=1.0`. Workers' clocks advance across I/O, so a
 * duration around an awaited call is that call's time, at the clock's resolution.
 */
import type { Context } from "hono";

export async function timed<T>(c: Context, name: string, work: Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await work;
  c.header("Server-Timing", `${name};dur=${(performance.now() - t).toFixed(1)}`, { append: true });
  return out;
}
