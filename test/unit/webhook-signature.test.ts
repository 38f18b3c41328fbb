import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { endpointId, parseEndpointId } from "../../src/webhooks/endpoint-id.ts";
import { activeSecrets, MAX_PREVIOUS, ROTATION_GRACE_MS, rotateSecrets, type StoredSecret } from "../../src/webhooks/secrets.ts";
import { checkTimestamp, generateSecret, parseHeaders, secretKey, sign, timingSafeEqual, verifyWebhook } from "../../src/webhooks/signature.ts";

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const body = JSON.stringify({ name: "Ana", amount: 12.5, note: "héllo ✓" });

/** Headers as a real sender (the standardwebhooks package) would send them. */
function signed(secret: string, id: string, at: number, payload = body): Record<string, string> {
  const date = new Date(at);
  return { "webhook-id": id, "webhook-timestamp": String(Math.floor(at / 1000)), "webhook-signature": new Webhook(secret).sign(id, date, payload) };
}
const getter = (h: Record<string, string>) => (name: string) => h[name] ?? null;

describe("webhook signatures (Standard Webhooks)", () => {
  const secret = generateSecret();

  it("generates whsec_ secrets of 32 random bytes", () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(secretKey(secret)?.length).toBe(32);
    expect(generateSecret()).not.toBe(secret);
    expect(secretKey("nope")).toBeNull();
    expect(secretKey("whsec_")).toBeNull();
    expect(secretKey("whsec_!!!")).toBeNull();
  });

  it("signs exactly as the standardwebhooks package does", async () => {
    const ts = Math.floor(NOW / 1000);
    expect(await sign(secret, "msg_1", ts, body)).toBe(new Webhook(secret).sign("msg_1", new Date(NOW), body));
    // and the package accepts what we sign
    const h = { "webhook-id": "msg_1", "webhook-timestamp": String(Math.floor(Date.now() / 1000)), "webhook-signature": "" };
    h["webhook-signature"] = await sign(secret, "msg_1", Number(h["webhook-timestamp"]), body);
    expect(new Webhook(secret).verify(body, h)).toEqual(JSON.parse(body));
  });

  it("accepts a valid delivery", async () => {
    const res = await verifyWebhook(getter(signed(secret, "msg_ok", NOW)), new TextEncoder().encode(body), [secret], NOW);
    expect(res).toEqual({ ok: true, value: expect.objectContaining({ id: "msg_ok", timestamp: Math.floor(NOW / 1000) }) });
  });

  it("rejects a tampered body, id or timestamp", async () => {
    const h = signed(secret, "msg_t", NOW);
    expect(await verifyWebhook(getter(h), body.replace("12.5", "1250"), [secret], NOW)).toMatchObject({ ok: false, reason: "no_matching_signature" });
    expect(await verifyWebhook(getter({ ...h, "webhook-id": "msg_u" }), body, [secret], NOW)).toMatchObject({ ok: false, reason: "no_matching_signature" });
    expect(await verifyWebhook(getter({ ...h, "webhook-timestamp": String(Math.floor(NOW / 1000) + 1) }), body, [secret], NOW)).toMatchObject({ ok: false, reason: "no_matching_signature" });
  });

  it("rejects a signature made with another secret, and accepts it once that secret is active", async () => {
    const other = generateSecret();
    const h = signed(other, "msg_w", NOW);
    expect(await verifyWebhook(getter(h), body, [secret], NOW)).toMatchObject({ ok: false, reason: "no_matching_signature" });
    expect(await verifyWebhook(getter(h), body, [], NOW)).toMatchObject({ ok: false, reason: "no_matching_signature" });
    expect((await verifyWebhook(getter(h), body, [secret, other], NOW)).ok).toBe(true);
  });

  it("rejects a timestamp 6 minutes old or 6 minutes ahead, accepts 5 minutes either way", async () => {
    const stale = await verifyWebhook(getter(signed(secret, "msg_s", NOW - 6 * 60_000)), body, [secret], NOW);
    expect(stale).toMatchObject({ ok: false, reason: "stale_timestamp" });
    expect((stale as { detail: string }).detail).toMatch(/360 s old/);
    const future = await verifyWebhook(getter(signed(secret, "msg_f", NOW + 6 * 60_000)), body, [secret], NOW);
    expect(future).toMatchObject({ ok: false, reason: "future_timestamp" });
    expect((await verifyWebhook(getter(signed(secret, "msg_p", NOW - 5 * 60_000)), body, [secret], NOW)).ok).toBe(true);
    expect((await verifyWebhook(getter(signed(secret, "msg_q", NOW + 5 * 60_000)), body, [secret], NOW)).ok).toBe(true);
    expect(checkTimestamp(Math.floor(NOW / 1000) - 301, NOW)).toMatchObject({ ok: false, reason: "stale_timestamp" });
  });

  it("accepts several space-separated signatures when any one matches", async () => {
    const h = signed(secret, "msg_m", NOW);
    const wrong = new Webhook(generateSecret()).sign("msg_m", new Date(NOW), body);
    const multi = { ...h, "webhook-signature": `${wrong} v1a,c2lnbmF0dXJl ${h["webhook-signature"]} garbage v1,!!notbase64` };
    expect((await verifyWebhook(getter(multi), body, [secret], NOW)).ok).toBe(true);
    const none = { ...h, "webhook-signature": `${wrong} v1,${btoa("x".repeat(32))}` };
    expect(await verifyWebhook(getter(none), body, [secret], NOW)).toMatchObject({ ok: false, reason: "no_matching_signature" });
  });

  it("names the failing check for malformed or missing headers", async () => {
    const h = signed(secret, "msg_h", NOW);
    const without = (name: string) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== name));
    for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const res = await verifyWebhook(getter(without(name)), body, [secret], NOW);
      expect(res).toMatchObject({ ok: false, reason: "missing_header" });
      expect((res as { detail: string }).detail).toBe(`the ${name} header is missing`);
    }
    expect(parseHeaders(getter({}))).toMatchObject({ ok: false, detail: expect.stringMatching(/webhook-id.*webhook-timestamp.*webhook-signature/) });
    expect(parseHeaders(getter({ ...h, "webhook-timestamp": "yesterday" }))).toMatchObject({ ok: false, reason: "bad_timestamp" });
    expect(parseHeaders(getter({ ...h, "webhook-timestamp": "1.5e9" }))).toMatchObject({ ok: false, reason: "bad_timestamp" });
    expect(parseHeaders(getter({ ...h, "webhook-timestamp": "-5" }))).toMatchObject({ ok: false, reason: "bad_timestamp" });
    expect(parseHeaders(getter({ ...h, "webhook-id": "" }))).toMatchObject({ ok: false, reason: "bad_id" });
    expect(parseHeaders(getter({ ...h, "webhook-id": "x".repeat(256) }))).toMatchObject({ ok: false, reason: "bad_id" });
    for (const sig of ["", "v1", "v2,abc", "v1,", "v1,%%%", h["webhook-signature"].slice(3)]) {
      expect(parseHeaders(getter({ ...h, "webhook-signature": sig }))).toMatchObject({ ok: false, reason: "bad_signature_header" });
    }
  });

  it("compares in constant time, byte for byte", () => {
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
  });
});

describe("endpoint secrets over time", () => {
  const HOUR = 3_600_000;
  const valid = (rows: StoredSecret[], at: number) => activeSecrets(rows, at).map((r) => r.secret);

  it("the old secret stays valid for 24 hours after a rotation, the new one from then on", () => {
    let rows = rotateSecrets([], "A", NOW);
    expect(rows).toEqual([{ secret: "A", createdAt: NOW, expiresAt: null }]);
    const rotatedAt = NOW + 10 * HOUR;
    rows = rotateSecrets(rows, "B", rotatedAt);
    expect(rows.find((r) => r.secret === "A")?.expiresAt).toBe(rotatedAt + ROTATION_GRACE_MS);
    expect(valid(rows, rotatedAt)).toEqual(["B", "A"]);
    expect(valid(rows, rotatedAt + ROTATION_GRACE_MS - 1)).toEqual(["B", "A"]);
    expect(valid(rows, rotatedAt + ROTATION_GRACE_MS)).toEqual(["B"]);
    expect(valid(rows, rotatedAt + 365 * 24 * HOUR)).toEqual(["B"]);
  });

  it("rotating again keeps each earlier secret's own expiry and drops expired ones", () => {
    let rows = rotateSecrets([], "A", NOW);
    rows = rotateSecrets(rows, "B", NOW + HOUR);
    rows = rotateSecrets(rows, "C", NOW + 2 * HOUR);
    expect(valid(rows, NOW + 2 * HOUR)).toEqual(["C", "B", "A"]);
    expect(rows.find((r) => r.secret === "A")?.expiresAt).toBe(NOW + HOUR + ROTATION_GRACE_MS);
    expect(valid(rows, NOW + HOUR + ROTATION_GRACE_MS)).toEqual(["C", "B"]);
    rows = rotateSecrets(rows, "D", NOW + 30 * HOUR);
    expect(rows.map((r) => r.secret)).toEqual(["D", "C"]);
  });

  it("keeps at most MAX_PREVIOUS previous secrets", () => {
    let rows: StoredSecret[] = [];
    for (let i = 0; i < MAX_PREVIOUS + 4; i++) rows = rotateSecrets(rows, `S${i}`, NOW + i);
    expect(rows).toHaveLength(MAX_PREVIOUS + 1);
    expect(valid(rows, NOW + 100)[0]).toBe(`S${MAX_PREVIOUS + 3}`);
  });
});

describe("endpoint ids", () => {
  it("round-trip tenant and workflow, and reject anything else", () => {
    const id = endpointId("acme", "claims.triage-v2");
    expect(id).toMatch(/^wh_[A-Za-z0-9_-]+$/);
    expect(parseEndpointId(id)).toEqual({ tenant: "acme", workflowId: "claims.triage-v2" });
    expect(parseEndpointId("claims")).toBeNull();
    expect(parseEndpointId("wh_")).toBeNull();
    expect(parseEndpointId("wh_!!")).toBeNull();
    expect(parseEndpointId(`wh_${btoa("acme").replace(/=+$/, "")}`)).toBeNull();
    expect(parseEndpointId(`wh_${btoa("ACME/x").replace(/=+$/, "")}`)).toBeNull();
    expect(parseEndpointId(`wh_${btoa("a/../b").replace(/=+$/, "")}`)).toBeNull();
  });
});
