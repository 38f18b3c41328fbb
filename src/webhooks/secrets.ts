/**
 * Which endpoint secrets are valid when, pure. An endpoint has one current secret (no expiry)
 * and the secrets it replaced, each valid until its `expiresAt` (rotation time + 24 h), so a
 * sender can switch over without losing deliveries. Rotating again within the grace period
 * keeps every earlier secret's own expiry (never extends it), up to MAX_PREVIOUS of them.
 */
export const ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;
/** Previous secrets kept valid at once; rotating more often than this in a day expires the oldest at once. */
export const MAX_PREVIOUS = 5;

export interface StoredSecret {
  secret: string;
  createdAt: number;
  /** null for the current secret */
  expiresAt: number | null;
}

/** The secrets a delivery may be signed with at `now`, current first. */
export function activeSecrets(rows: readonly StoredSecret[], now: number): StoredSecret[] {
  return rows.filter((r) => r.expiresAt === null || r.expiresAt > now).sort((a, b) => (a.expiresAt === null ? -1 : b.expiresAt === null ? 1 : b.createdAt - a.createdAt));
}

/** The rows after installing `secret` as current at `now`: the old current expires at now + grace, expired ones are dropped. */
export function rotateSecrets(rows: readonly StoredSecret[], secret: string, now: number): StoredSecret[] {
  const previous = activeSecrets(rows, now)
    .map((r) => ({ ...r, expiresAt: r.expiresAt ?? now + ROTATION_GRACE_MS }))
    .slice(0, MAX_PREVIOUS);
  return [{ secret, createdAt: now, expiresAt: null }, ...previous];
}
