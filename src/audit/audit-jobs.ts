/**
 * The audit trail's scheduled work (the Worker's `scheduled` handler, every minute): seal every
 * stream head that moved since its last seal, then purge what retention allows — a stream
 * prefix past retain_until and under no legal hold, recorded by a signed purge record written
 * in the same transaction, so the chains still verify after a purge.
 */
import type { AuditStore } from "./audit-store.ts";
import { signPurge, signSeal, type SigningKey } from "./seal.ts";

export async function sealHeads(store: AuditStore, key: SigningKey, now: number, limit = 1000): Promise<number> {
  const heads = await store.unsealedHeads(limit);
  const seals = await Promise.all(heads.map((h) => signSeal(key, { ...h, sealedAt: now })));
  await store.insertSeals(seals);
  return seals.length;
}

export async function purgeExpired(store: AuditStore, key: SigningKey, now: number, limit = 200): Promise<{ streams: number; entries: number; refused: string[] }> {
  const candidates = await store.purgeCandidates(now, limit);
  let entries = 0;
  const refused: string[] = [];
  for (const c of candidates) {
    try {
      await store.purge(await signPurge(key, { ...c, purgedAt: now }));
      entries += c.count;
    } catch (err) {
      // a hold placed since the candidates were read: the database's trigger refused; nothing changed
      refused.push(`${c.stream}: ${(err as Error).message}`);
    }
  }
  return { streams: candidates.length - refused.length, entries, refused };
}

export async function runAuditJobs(store: AuditStore, key: SigningKey, now = Date.now()): Promise<{ sealed: number; purged: { streams: number; entries: number; refused: string[] } }> {
  // seal first: a stream's last head is sealed before any of it can be purged
  const sealed = await sealHeads(store, key, now);
  const purged = await purgeExpired(store, key, now);
  return { sealed, purged };
}
