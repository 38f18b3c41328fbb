/** A failed model or tool call, classified for retry: 429, 5xx and network errors are retryable. */
export class CallFailure extends Error {
  readonly status?: number;
  readonly retryable: boolean;
  constructor(message: string, opts: { status?: number; retryable: boolean }) {
    super(message);
    this.status = opts.status;
    this.retryable = opts.retryable;
  }
  static fromStatus(what: string, status: number, body: string): CallFailure {
    const retryable = status === 429 || status === 408 || status >= 500;
    return new CallFailure(`${what} answered HTTP ${status}: ${body.slice(0, 500)}`, { status, retryable });
  }
}
