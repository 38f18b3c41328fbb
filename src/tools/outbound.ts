/**
 * Outbound HTTP for tools and providers. A configurable host map (OUTBOUND_HOSTS, JSON
 * `{ "claims.example": "http://127.0.0.1:8790" }`) routes hosts without editing workflows.
 * Responses are read with a size cap so a huge body cannot blow the event log.
 */
import { CallFailure } from "../engine/call-failure.ts";

export const MAX_RESULT_BYTES = 4 * 1024 * 1024;

export type HostMap = Record<string, string>;

export function parseHostMap(raw: string | undefined): HostMap {
  if (!raw) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v as HostMap;
  } catch {
    /* reported below */
  }
  throw new Error("OUTBOUND_HOSTS must be a JSON object mapping host names to base URLs");
}

export function routeUrl(url: string, hosts: HostMap): string {
  const u = new URL(url);
  const target = hosts[u.host] ?? hosts[u.hostname];
  if (!target) return url;
  const base = new URL(target);
  u.protocol = base.protocol;
  u.host = base.host;
  if (base.pathname !== "/") u.pathname = base.pathname.replace(/\/$/, "") + u.pathname;
  return u.toString();
}

export async function readCapped(res: Response, what: string): Promise<string> {
  const len = Number(res.headers.get("content-length") ?? "0");
  if (len > MAX_RESULT_BYTES) throw new CallFailure(`${what} returned ${len} bytes; the limit is ${MAX_RESULT_BYTES}`, { retryable: false });
  const reader = res.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_RESULT_BYTES) {
      await reader.cancel();
      throw new CallFailure(`${what} returned more than ${MAX_RESULT_BYTES} bytes; the limit is ${MAX_RESULT_BYTES}`, { retryable: false });
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) (all.set(c, off), (off += c.byteLength));
  return new TextDecoder().decode(all);
}

export async function outboundFetch(url: string, init: RequestInit, hosts: HostMap, what: string, timeoutMs: number, signal?: AbortSignal): Promise<Response> {
  // A cleared timer rather than AbortSignal.timeout: nothing is left pending once the call is done.
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new DOMException("timed out", "TimeoutError")), timeoutMs);
  const onAbort = () => timeout.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const res = await fetch(routeUrl(url, hosts), { ...init, signal: timeout.signal });
    return res;
  } catch (err) {
    if (signal?.aborted) throw new CallFailure(`${what} abandoned: ${String(signal.reason ?? "aborted")}`, { retryable: false });
    const e = err as Error;
    const timedOut = timeout.signal.aborted;
    throw new CallFailure(timedOut ? `${what} timed out after ${timeoutMs} ms` : `${what} could not be reached: ${e.message}`, { retryable: true });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}
