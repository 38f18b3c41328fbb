/** Results crossing the Durable Object RPC boundary: data, or a problem the API turns into problem+json. */
export interface Problem {
  status: number;
  title: string;
  detail: string;
  errors?: Array<{ path: string; message: string }>;
}
export type RpcResult<T> = { ok: true; value: T } | { ok: false; problem: Problem };

export const ok = <T>(value: T): RpcResult<T> => ({ ok: true, value });
export const fail = (status: number, title: string, detail: string, errors?: Problem["errors"]): RpcResult<never> => ({ ok: false, problem: { status, title, detail, ...(errors ? { errors } : {}) } });
