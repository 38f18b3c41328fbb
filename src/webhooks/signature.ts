/**
 * Standard Webhooks verification (https://www.standardwebhooks.com), pure: no storage, no
 * clock (the caller passes `now`). The signed content is `{webhook-id}.{webhook-timestamp}.{body}`
 * over the raw body bytes; a signature is `v1,<base64 HMAC-SHA256>` keyed with the base64-decoded
 * part of a `whsec_` secret. `webhook-signature` may carry several space-separated signatures
 * (a sender mid-rotation signs with old and new secret); any one matching one of our active
 * secrets suffices. Comparison is constant-time.
 */
import { z } from "zod";

export const SECRET_PREFIX = "whsec_";
/** Accepted clock skew between sender and us, past or future. */
export const TOLERANCE_SECONDS = 5 * 60;
const SECRET_BYTES = 32;

export type VerifyFailure =
  | "missing_header"
  | "bad_id"
  | "bad_timestamp"
  | "stale_timestamp"
  | "future_timestamp"
  | "bad_signature_header"
  | "no_matching_signature";

export type Verified<T> = { ok: true; value: T } | { ok: false; reason: VerifyFailure; detail: string };

export interface WebhookHeaders {
  id: string;
  /** seconds since the epoch, as sent */
  timestamp: number;
  /** the v1 signatures, base64-decoded */
  signatures: Uint8Array[];
}

const b64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function decodeBase64(text: string): Uint8Array | null {
  if (!b64.test(text) || text.length % 4 === 1) return null;
  try {
    const bin = atob(text);
    return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

export function encodeBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** A new `whsec_` secret: 32 random bytes, base64. */
export function generateSecret(): string {
  return SECRET_PREFIX + encodeBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** The HMAC key of a `whsec_` secret, or null if it is not one. */
export function secretKey(secret: string): Uint8Array | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const key = decodeBase64(secret.slice(SECRET_PREFIX.length));
  return key && key.length > 0 ? key : null;
}

const headerSchema = z.object({
  "webhook-id": z.string({ error: "the webhook-id header is missing" }),
  "webhook-timestamp": z.string({ error: "the webhook-timestamp header is missing" }),
  "webhook-signature": z.string({ error: "the webhook-signature header is missing" }),
});
const idSchema = z
  .string()
  .min(1, "the webhook-id header is empty")
  .max(255, "the webhook-id header is longer than 255 characters")
  .regex(/^[\x21-\x7e]+$/, "the webhook-id header must be printable ASCII without spaces");
const timestampSchema = z.string().regex(/^\d{1,12}$/, "the webhook-timestamp header must be integer seconds since the Unix epoch");

/** Reads the three headers; `get` is a case-insensitive header lookup (e.g. `Headers#get`). */
export function parseHeaders(get: (name: string) => string | null | undefined): Verified<WebhookHeaders> {
  const raw = headerSchema.safeParse({
    "webhook-id": get("webhook-id") ?? undefined,
    "webhook-timestamp": get("webhook-timestamp") ?? undefined,
    "webhook-signature": get("webhook-signature") ?? undefined,
  });
  if (!raw.success) return { ok: false, reason: "missing_header", detail: raw.error.issues.map((i) => i.message).join("; ") };
  const id = idSchema.safeParse(raw.data["webhook-id"].trim());
  if (!id.success) return { ok: false, reason: "bad_id", detail: id.error.issues[0].message };
  const ts = timestampSchema.safeParse(raw.data["webhook-timestamp"].trim());
  if (!ts.success) return { ok: false, reason: "bad_timestamp", detail: ts.error.issues[0].message };
  const signatures: Uint8Array[] = [];
  for (const entry of raw.data["webhook-signature"].split(" ")) {
    const comma = entry.indexOf(",");
    if (comma < 0 || entry.slice(0, comma) !== "v1") continue; // other schemes (v1a, …) are not ours
    const sig = decodeBase64(entry.slice(comma + 1));
    if (sig) signatures.push(sig);
  }
  if (!signatures.length) return { ok: false, reason: "bad_signature_header", detail: 'the webhook-signature header has no "v1,<base64>" signature' };
  return { ok: true, value: { id: id.data, timestamp: Number(ts.data), signatures } };
}

/** Whether the timestamp is within the tolerance of `nowMs`, past or future. */
export function checkTimestamp(timestamp: number, nowMs: number, toleranceSeconds = TOLERANCE_SECONDS): Verified<number> {
  const now = Math.floor(nowMs / 1000);
  if (now - timestamp > toleranceSeconds) {
    return { ok: false, reason: "stale_timestamp", detail: `the webhook-timestamp is ${now - timestamp} s old; at most ${toleranceSeconds} s is accepted` };
  }
  if (timestamp - now > toleranceSeconds) {
    return { ok: false, reason: "future_timestamp", detail: `the webhook-timestamp is ${timestamp - now} s in the future; at most ${toleranceSeconds} s of clock skew is accepted` };
  }
  return { ok: true, value: timestamp };
}

function toBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === "string" ? new TextEncoder().encode(body) : body;
}

function signedContent(id: string, timestamp: number, body: Uint8Array | string): Uint8Array<ArrayBuffer> {
  const head = new TextEncoder().encode(`${id}.${timestamp}.`);
  const bytes = toBytes(body);
  const out = new Uint8Array(head.length + bytes.length);
  out.set(head, 0);
  out.set(bytes, head.length);
  return out;
}

async function hmac(key: Uint8Array, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", new Uint8Array(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

/** Constant-time equality (the length is not secret: every v1 signature is 32 bytes). */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** `v1,<base64>` for this message: what a sender puts in `webhook-signature`. */
export async function sign(secret: string, id: string, timestamp: number, body: Uint8Array | string): Promise<string> {
  const key = secretKey(secret);
  if (!key) throw new Error("not a whsec_ secret");
  return `v1,${encodeBase64(await hmac(key, signedContent(id, timestamp, body)))}`;
}

/** Whether any of the signatures is the HMAC of the message under any of the secrets. */
export async function signatureMatches(secrets: readonly string[], headers: WebhookHeaders, body: Uint8Array | string): Promise<boolean> {
  const content = signedContent(headers.id, headers.timestamp, body);
  let matched = false;
  for (const secret of secrets) {
    const key = secretKey(secret);
    if (!key) continue;
    const expected = await hmac(key, content);
    // no early exit: the work done does not depend on which signature matched
    for (const sig of headers.signatures) matched = timingSafeEqual(sig, expected) || matched;
  }
  return matched;
}

/**
 * The whole check, in the order the API reports failures: headers present and well formed,
 * timestamp within tolerance, then a signature matching one of `secrets`.
 */
export async function verifyWebhook(
  get: (name: string) => string | null | undefined,
  body: Uint8Array | string,
  secrets: readonly string[],
  nowMs: number,
): Promise<Verified<WebhookHeaders>> {
  const headers = parseHeaders(get);
  if (!headers.ok) return headers;
  const fresh = checkTimestamp(headers.value.timestamp, nowMs);
  if (!fresh.ok) return fresh;
  if (!(await signatureMatches(secrets, headers.value, body))) {
    return { ok: false, reason: "no_matching_signature", detail: "no signature in webhook-signature matches this endpoint's secret" };
  }
  return headers;
}
