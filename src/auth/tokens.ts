/**
 * Bearer tokens: HS256 JWTs verified with jose, carrying `sub`, `tenant` and `roles`.
 * The secret is the Worker secret WARDEN_JWT_SECRET (locally in .dev.vars).
 */
import { jwtVerify, SignJWT } from "jose";
import { z } from "zod";

export const ROLES = ["admin", "operator", "approver", "auditor"] as const;
export type Role = (typeof ROLES)[number];
export const ISSUER = "warden";
export const AUDIENCE = "warden-api";

export const principalSchema = z.object({
  sub: z.string().min(1),
  tenant: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "must be a tenant id (a-z, 0-9, _ and -)"),
  roles: z.array(z.enum(ROLES)).min(1),
});
export type Principal = z.output<typeof principalSchema>;

function key(secret: string): Uint8Array {
  if (!secret || secret.length < 32) throw new Error("WARDEN_JWT_SECRET must be set to at least 32 characters");
  return new TextEncoder().encode(secret);
}

export async function verifyToken(token: string, secret: string): Promise<Principal> {
  const { payload } = await jwtVerify(token, key(secret), { issuer: ISSUER, audience: AUDIENCE, algorithms: ["HS256"] });
  const parsed = principalSchema.safeParse(payload);
  if (!parsed.success) throw new Error(`token claims are invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
  return parsed.data;
}

export async function mintToken(p: Principal, secret: string, ttl = "12h"): Promise<string> {
  return new SignJWT({ tenant: p.tenant, roles: p.roles })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(p.sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(key(secret));
}
