/** A failed model or tool call, classified for retry: 429, 5xx and network errors are retryable. */
export class CallFailure extends Error {
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  constructor(message: string, opts: { status?: number; retryable: boolean; retryAfterMs?: number }) {
    super(message);
    this.status = opts.status;
    this.retryable = opts.retryable;
    this.retryAfterMs = opts.retryAfterMs;
  }
  /** Classifies an HTTP error: 408, 409 (lock), 429 and 5xx are retryable; the provider's own message is kept. */
  static fromResponse(what: string, res: { status: number; headers: Headers }, body: string, now = Date.now()): CallFailure {
    const status = res.status;
    const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
    const retryAfterMs = parseRetryAfter(res.headers.get("retry-after-ms"), res.headers.get("retry-after"), now);
    return new CallFailure(`${what} answered HTTP ${status}: ${providerMessage(body)}`, { status, retryable, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
}

/** `retry-after-ms` (OpenAI), or `retry-after` as seconds or an HTTP date (RFC 9110). */
export function parseRetryAfter(ms: string | null, header: string | null, now: number): number | undefined {
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  if (!header) return undefined;
  const h = header.trim();
  if (/^\d+(\.\d+)?$/.test(h)) return Math.round(Number(h) * 1000);
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The human-readable message of a provider error body ({error:{message}}, {message}, or the text). */
export function providerMessage(body: string): string {
  try {
    const v = JSON.parse(body) as { error?: { message?: string; type?: string } | string; message?: string };
    if (typeof v.error === "object" && v.error?.message) return v.error.type ? `${v.error.type}: ${v.error.message}` : v.error.message;
    if (typeof v.error === "string") return v.error;
    if (v.message) return v.message;
  } catch {
    /* not JSON */
  }
  return body.slice(0, 500);
}
