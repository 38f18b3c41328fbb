/** Run ids: random, or derived from (tenant, Idempotency-Key) so a retried request finds the same run. */
import { sha256Hex } from "../engine/canonical-json.ts";

export const RUN_ID = /^run_[a-z0-9]{26}$/;

export function newRunId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(26));
  return `run_${[...bytes].map((b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("")}`;
}

export async function runIdForKey(tenant: string, key: string): Promise<string> {
  const hex = await sha256Hex(`${tenant}\n${key}`);
  return `run_${BigInt(`0x${hex}`).toString(36).padStart(26, "0").slice(0, 26)}`;
}
