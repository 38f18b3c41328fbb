/**
 * Signed approval links: a jose HS256 JWT with its own audience (so an API token is never a
 * link and a link is never an API token), `sub` = the approver, a one-time `jti`, a short
 * `exp`, bound to the run and the approval.
 */
import { jwtVerify, SignJWT, errors } from "jose";
import { z } from "zod";

export const LINK_AUDIENCE = "warden-approval-link";
const claims = z.object({ sub: z.string().min(1), jti: z.string().min(8), run: z.string(), approval: z.string() });
export type LinkClaims = z.output<typeof claims>;

function key(secret: string): Uint8Array {
  return new TextEncoder().encode(`approval-link:${secret}`);
}

export async function mintApprovalLink(c: Omit<LinkClaims, "jti">, secret: string, ttlSeconds: number, now = Date.now()): Promise<string> {
  const jti = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return new SignJWT({ run: c.run, approval: c.approval })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(c.sub)
    .setJti(jti)
    .setIssuer("warden")
    .setAudience(LINK_AUDIENCE)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(now / 1000) + ttlSeconds)
    .sign(key(secret));
}

export type LinkCheck = { ok: true; claims: LinkClaims } | { ok: false; status: 401 | 410; reason: string };

export async function verifyApprovalLink(token: string, secret: string): Promise<LinkCheck> {
  try {
    const { payload } = await jwtVerify(token, key(secret), { issuer: "warden", audience: LINK_AUDIENCE, algorithms: ["HS256"] });
    const parsed = claims.safeParse(payload);
    if (!parsed.success) return { ok: false, status: 401, reason: "this link is missing required claims" };
    return { ok: true, claims: parsed.data };
  } catch (err) {
    if (err instanceof errors.JWTExpired) return { ok: false, status: 410, reason: "this approval link has expired; ask for a new one or decide in the console" };
    if (err instanceof errors.JWTClaimValidationFailed && err.claim === "aud") return { ok: false, status: 401, reason: "this is not an approval link (wrong audience)" };
    return { ok: false, status: 401, reason: "this approval link is not valid (bad signature or malformed)" };
  }
}
