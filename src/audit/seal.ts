/**
 * Signed checkpoints, in the spirit of signed tree heads (RFC 6962, C2SP checkpoints): a
 * stream's head (seq, hash) — or a purge record — signed with Ed25519 as a compact JWS. The
 * private key is a Worker secret (AUDIT_SIGNING_KEY, a private OKP JWK); the public key is
 * published at /.well-known/warden-audit-key, so anyone can check a seal offline.
 */
import { compactVerify, CompactSign, exportJWK, importJWK, type CryptoKey, type JWK } from "jose";
import type { PurgeRecord, SealRecord } from "./audit-rows.ts";

export const CHECKPOINT_ORIGIN = "warden-audit";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK & { kid: string };
}

const cache = new Map<string, Promise<SigningKey>>();

/** Reads the signing key from its secret (a private Ed25519 JWK as JSON), once per isolate. */
export function signingKey(secret: string | undefined): Promise<SigningKey> {
  if (!secret) return Promise.reject(new Error("AUDIT_SIGNING_KEY is not set: the audit trail cannot be sealed"));
  let hit = cache.get(secret);
  if (!hit) {
    hit = (async () => {
      const jwk = JSON.parse(secret) as JWK;
      if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || !jwk.d) throw new Error("AUDIT_SIGNING_KEY must be a private Ed25519 JWK (kty OKP, crv Ed25519, with d)");
      const privateKey = (await importJWK({ ...jwk, alg: "EdDSA" }, "EdDSA")) as CryptoKey;
      const kid = jwk.kid ?? "audit-1";
      const { d: _d, ...pub } = jwk;
      return { kid, privateKey, publicJwk: { ...pub, kid, alg: "EdDSA", use: "sig" } };
    })();
    hit.catch(() => cache.delete(secret));
    cache.set(secret, hit);
  }
  return hit;
}

export async function publicKeySet(secret: string | undefined): Promise<{ keys: JWK[] }> {
  return { keys: [(await signingKey(secret)).publicJwk] };
}

type SealClaims = Omit<SealRecord, "id" | "kid" | "jws">;
type PurgeClaims = Omit<PurgeRecord, "id" | "kid" | "jws">;

/** The exact statement a seal signs. */
export function sealStatement(s: SealClaims): Record<string, unknown> {
  return { origin: CHECKPOINT_ORIGIN, kind: "seal", tenant: s.tenant, stream: s.stream, seq: s.seq, hash: s.hash, sealedAt: s.sealedAt };
}

export function purgeStatement(p: PurgeClaims): Record<string, unknown> {
  return { origin: CHECKPOINT_ORIGIN, kind: "purge", tenant: p.tenant, stream: p.stream, fromSeq: p.fromSeq, toSeq: p.toSeq, count: p.count, lastHash: p.lastHash, purgedAt: p.purgedAt };
}

async function sign(key: SigningKey, statement: Record<string, unknown>): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(statement))).setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "warden-checkpoint" }).sign(key.privateKey);
}

export async function signSeal(key: SigningKey, s: SealClaims): Promise<SealRecord> {
  return { ...s, id: `${s.stream}@${s.seq}`, kid: key.kid, jws: await sign(key, sealStatement(s)) };
}

export async function signPurge(key: SigningKey, p: PurgeClaims): Promise<PurgeRecord> {
  return { ...p, id: `${p.stream}#${p.fromSeq}-${p.toSeq}`, kid: key.kid, jws: await sign(key, purgeStatement(p)) };
}

/** Checks a JWS against a public key and that it signs exactly `statement`; returns a reason when it does not. */
export async function checkSignature(publicJwk: JWK, jws: string, statement: Record<string, unknown>): Promise<string | null> {
  let payload: Uint8Array;
  try {
    const key = await importJWK({ ...publicJwk, alg: "EdDSA" }, "EdDSA");
    ({ payload } = await compactVerify(jws, key, { algorithms: ["EdDSA"] }));
  } catch (err) {
    return `signature does not verify (${(err as Error).message})`;
  }
  let signed: Record<string, unknown>;
  try {
    signed = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  } catch {
    return "signed statement is not JSON";
  }
  for (const [k, v] of Object.entries(statement)) if (signed[k] !== v) return `signed ${k} is ${JSON.stringify(signed[k])}, the record says ${JSON.stringify(v)}`;
  return null;
}

/** Generates a new signing key as the JSON of a private JWK (for .dev.vars and `wrangler secret put AUDIT_SIGNING_KEY`). */
export async function generateSigningKeySecret(kid = `audit-${new Date().toISOString().slice(0, 10)}`): Promise<string> {
  const { privateKey } = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = await exportJWK(privateKey);
  return JSON.stringify({ ...jwk, kid });
}
