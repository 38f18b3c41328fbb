import type { MiddlewareHandler } from "hono";
import { verifyToken, type Principal, type Role } from "../auth/tokens.ts";
import { problem } from "./problem.ts";

export type AppEnv = { Bindings: Env; Variables: { principal: Principal } };

export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  const challenge = { "www-authenticate": 'Bearer realm="warden"' };
  if (!m) return problem(c, 401, "Unauthorized", "an Authorization: Bearer <token> header is required", undefined, challenge);
  try {
    c.set("principal", await verifyToken(m[1], c.env.WARDEN_JWT_SECRET));
  } catch (err) {
    return problem(c, 401, "Unauthorized", `the bearer token was rejected: ${(err as Error).message}`, undefined, { "www-authenticate": 'Bearer realm="warden", error="invalid_token"' });
  }
  await next();
};

export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const p = c.get("principal");
    if (!p.roles.some((r) => roles.includes(r))) return problem(c, 403, "Forbidden", `this action needs one of the roles: ${roles.join(", ")}`);
    await next();
  };
}
