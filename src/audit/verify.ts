/**
 * Verifies an audit trail offline: every entry's hash recomputes from its content, every entry
 * links to the one before it, seqs run gap-free from 1 except where a signed purge record says a
 * retention purge removed a prefix, and every seal (a signed checkpoint of a stream's head) is
 * signed by a trusted key and matches the chain at its seq. Entries may be given in any order.
 *
 * Two steps, so a large export never has to be held in memory whole: `digestEntry` recomputes
 * one entry's hash and keeps only what the chain checks need (the entry itself only when its
 * hash does not recompute, to tell a moved entry from an edited one); `verifyDigests` checks
 * the chains, seals and purges. `verifyAudit` does both. Pure but for the signature checks
 * (async WebCrypto, via seal.ts, loaded on first use), which run while the hashes are computed.
 *
 * What can be detected: any change to a hashed field, a deleted or inserted entry, entries moved
 * to other seqs, a rewritten chain up to a seal, a seal or purge record not signed by a trusted
 * key. What cannot: a chain rewritten after its last seal (reported as `unsealed` information).
 */
import type { JWK } from "jose";
import { canonicalJson } from "../engine/canonical-json.ts";
import { bodyOf, GENESIS_HASH, sha256HexSync, type AuditEntry } from "./audit-entry.ts";
import type { PurgeRecord, SealRecord } from "./audit-rows.ts";

export type ProblemKind =
  | "edited"
  | "broken_link"
  | "gap"
  | "reordered"
  | "duplicate"
  | "bad_id"
  | "malformed"
  | "forged_seal"
  | "seal_mismatch"
  | "forged_purge"
  | "purge_inconsistent";

export interface VerifyProblem {
  stream: string;
  seq?: number;
  kind: ProblemKind | string;
  message: string;
}

/** What the verifier could not check or wants known, without it being evidence of tampering. */
export interface VerifyInfo {
  stream: string;
  seq?: number;
  kind: "unsealed" | "seal_uncheckable" | "purged_present" | string;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  streams: number;
  entries: number;
  seals: number;
  purges: number;
  problems: VerifyProblem[];
  info: VerifyInfo[];
}

export interface VerifyInput {
  entries: AuditEntry[];
  seals: SealRecord[];
  purges: PurgeRecord[];
  publicKeys: JWK[];
}

/** What the chain checks need of one entry. */
export interface EntryDigest {
  stream: string;
  seq: number;
  prevHash: string;
  hash: string;
  /** the stored hash recomputes from the entry's content */
  ok: boolean;
  /** the entry's id when it is not `${stream}/${seq}` */
  badId?: string;
  /** the entry, kept only when its hash does not recompute */
  entry?: AuditEntry;
}

export interface DigestInput {
  digests: EntryDigest[];
  seals: SealRecord[];
  purges: PurgeRecord[];
  publicKeys: JWK[];
}

// ---------------------------------------------------------------- hashing

/** Thrown by `sortedJson` for what it leaves to canonicalJson. */
const SLOW = new Error("slow path");

const isIndexKey = (k: string) => {
  const c = k.charCodeAt(0);
  return c >= 48 && c <= 57 && /^(0|[1-9]\d*)$/.test(k) && Number(k) < 4294967295;
};

/**
 * `v` with every object's keys in sorted order (a sorted copy only where they are not), so that
 * JSON.stringify writes exactly what canonicalJson does, in one native call. Throws SLOW for
 * what it does not handle (non-plain objects, integer-like keys, whose order JavaScript fixes).
 */
function sortedJson(v: unknown): unknown {
  if (v === null) return v;
  switch (typeof v) {
    case "string":
    case "boolean":
    case "undefined":
      return v;
    case "number":
      if (!Number.isFinite(v)) throw SLOW;
      return v;
    case "object": {
      if (Array.isArray(v)) {
        let out: unknown[] | undefined;
        for (let i = 0; i < v.length; i++) {
          if (!(i in v)) throw SLOW;
          const x = v[i];
          const y = sortedJson(x);
          if (y !== x) (out ??= v.slice())[i] = y;
        }
        return out ?? v;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) throw SLOW;
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      let sorted = true;
      let values: unknown[] | undefined;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        if (isIndexKey(k) || k === "__proto__") throw SLOW;
        if (i > 0 && !(keys[i - 1] < k)) sorted = false;
        const x = o[k];
        const y = sortedJson(x);
        if (y !== x) (values ??= keys.map((key) => o[key]))[i] = y;
      }
      if (sorted && !values) return v;
      const order = keys.map((_, i) => i);
      if (!sorted) order.sort((a, b) => (keys[a] < keys[b] ? -1 : 1));
      const out: Record<string, unknown> = {};
      for (const i of order) out[keys[i]] = values ? values[i] : o[keys[i]];
      return out;
    }
    default:
      throw SLOW;
  }
}

/**
 * The canonical JSON of an entry's hashed fields (what `entryHash` hashes), or null when the
 * entry holds something JSON cannot (NaN, a function). Fast path: the fields in sorted order,
 * nested objects sorted where they are not, and one native JSON.stringify.
 */
export function canonicalBody(e: AuditEntry): string | null {
  const body = {
    actor: e.actor,
    at: e.at,
    id: e.id,
    payload: e.payload,
    policyHash: e.policyHash,
    prevHash: e.prevHash,
    redactions: e.redactions,
    retainUntil: e.retainUntil,
    runId: e.runId,
    seq: e.seq,
    stream: e.stream,
    tenant: e.tenant,
    type: e.type,
    workflow: e.workflow,
  };
  try {
    return JSON.stringify(sortedJson(body));
  } catch (err) {
    if (err !== SLOW) throw err;
  }
  try {
    return canonicalJson(bodyOf(e));
  } catch {
    return null;
  }
}

/**
 * Whether the stored hash recomputes. First optimistically: the payload as JSON.stringify writes
 * it (canonical already when it was parsed from canonical JSON, as the database and exports hold
 * it). A match is conclusive: the writer hashed canonical text, and a SHA-256 match means this is
 * that text. Otherwise the canonical form decides.
 */
function recomputes(e: AuditEntry): boolean {
  try {
    const quick = JSON.stringify({
      actor: sortedJson(e.actor),
      at: e.at,
      id: e.id,
      payload: e.payload,
      policyHash: e.policyHash,
      prevHash: e.prevHash,
      redactions: sortedJson(e.redactions),
      retainUntil: e.retainUntil,
      runId: e.runId,
      seq: e.seq,
      stream: e.stream,
      tenant: e.tenant,
      type: e.type,
      workflow: sortedJson(e.workflow),
    });
    if (quick !== undefined && sha256HexSync(quick) === e.hash) return true;
  } catch (err) {
    if (err !== SLOW) return false;
  }
  const text = canonicalBody(e);
  return text !== null && sha256HexSync(text) === e.hash;
}

/** Recomputes one entry's hash and keeps what the chain checks need. */
export function digestEntry(e: AuditEntry): EntryDigest {
  const ok = recomputes(e);
  const d: EntryDigest = { stream: e.stream, seq: e.seq, prevHash: e.prevHash, hash: e.hash, ok };
  if (e.id !== `${e.stream}/${e.seq}`) d.badId = String(e.id);
  if (!ok) d.entry = e;
  return d;
}

// ---------------------------------------------------------------- signatures

interface SignatureResults {
  seals: Array<string | null>;
  purges: Array<string | null>;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** Null when `jws` signs `statement` under a trusted key with the record's kid, else why not. */
/** seal.ts (and jose) loaded on first use: the export reader's worker threads, which only hash, never load it. */
let sealModule: Promise<typeof import("./seal.ts")> | undefined;

async function trustedSignature(keys: JWK[], kid: string, jws: string, statement: () => Promise<Record<string, unknown>>): Promise<string | null> {
  if (typeof jws !== "string") return "it has no signature";
  let candidates = keys.filter((k) => k.kid === kid);
  if (!candidates.length) candidates = keys.filter((k) => k.kid === undefined);
  if (!candidates.length) {
    const known = keys.map((k) => k.kid).filter(Boolean);
    return `it names key "${kid}", which is not a trusted key${known.length ? ` (trusted: ${known.join(", ")})` : ""}`;
  }
  let reason: string | null = "no key";
  for (const k of candidates) {
    reason = await (await (sealModule ??= import("./seal.ts"))).checkSignature(k, jws, await statement());
    if (reason === null) return null;
  }
  return reason;
}

async function checkSignatures(seals: SealRecord[], purges: PurgeRecord[], keys: JWK[]): Promise<SignatureResults> {
  const seal = async () => (sealModule ??= import("./seal.ts"));
  const [s, p] = await Promise.all([
    mapLimit(seals, 128, (x) => trustedSignature(keys, x.kid, x.jws, async () => (await seal()).sealStatement(x))),
    mapLimit(purges, 32, (x) => trustedSignature(keys, x.kid, x.jws, async () => (await seal()).purgeStatement(x))),
  ]);
  return { seals: s, purges: p };
}

// ---------------------------------------------------------------- the checks

/** Verifies entries, seals and purge records against the trusted public keys. */
export async function verifyAudit(input: VerifyInput): Promise<VerifyReport> {
  const signatures = checkSignatures(input.seals, input.purges, input.publicKeys);
  signatures.catch(() => undefined);
  const digests = new Array<EntryDigest>(input.entries.length);
  for (let i = 0; i < input.entries.length; i++) {
    digests[i] = digestEntry(input.entries[i]);
    // let the signature checks (WebCrypto, on the thread pool) move on meanwhile
    if ((i & 4095) === 4095) await new Promise((done) => (typeof setImmediate === "function" ? setImmediate(done) : setTimeout(done, 0)));
  }
  return verifyDigests({ digests, seals: input.seals, purges: input.purges, publicKeys: input.publicKeys }, signatures);
}

const short = (h: unknown) => (typeof h === "string" && h.length > 16 ? `${h.slice(0, 12)}…` : JSON.stringify(h));
const range = (a: number, b: number) => (a === b ? `${a}` : `${a}–${b}`);
const entriesWord = (a: number, b: number) => (a === b ? `entry ${a} is` : `entries ${a}–${b} are`);
const isSeq = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 1;

/** Runs of consecutive numbers in a sorted list. */
function runs(seqs: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const s of seqs) {
    const last = out[out.length - 1];
    if (last && last[1] + 1 === s) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}

/** Checks the chains of already digested entries (see `digestEntry`), seals and purge records. */
export async function verifyDigests(input: DigestInput, signatures?: Promise<SignatureResults>): Promise<VerifyReport> {
  const sigs = signatures ?? checkSignatures(input.seals, input.purges, input.publicKeys);
  sigs.catch(() => undefined);
  const problems: VerifyProblem[] = [];
  const info: VerifyInfo[] = [];

  const byStream = new Map<string, { entries: EntryDigest[]; seals: Array<{ s: SealRecord; i: number }>; purges: Array<{ p: PurgeRecord; i: number }> }>();
  const group = (stream: string) => {
    let g = byStream.get(stream);
    if (!g) byStream.set(stream, (g = { entries: [], seals: [], purges: [] }));
    return g;
  };
  for (const d of input.digests) {
    if (typeof d.stream !== "string" || !isSeq(d.seq)) {
      problems.push({ stream: String(d.stream), kind: "malformed", message: `an entry has no usable stream and seq (stream ${JSON.stringify(d.stream)}, seq ${JSON.stringify(d.seq)})` });
      continue;
    }
    group(d.stream).entries.push(d);
  }
  input.seals.forEach((s, i) => group(String(s.stream)).seals.push({ s, i }));
  input.purges.forEach((p, i) => group(String(p.stream)).purges.push({ p, i }));

  const { seals: sealSig, purges: purgeSig } = await sigs;
  for (const [stream, g] of byStream) checkStream(stream, g, sealSig, purgeSig, problems, info);

  const order = (a: { stream: string; seq?: number }, b: { stream: string; seq?: number }) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : (a.seq ?? 0) - (b.seq ?? 0));
  problems.sort(order);
  info.sort(order);
  return { ok: problems.length === 0, streams: byStream.size, entries: input.digests.length, seals: input.seals.length, purges: input.purges.length, problems, info };
}

function checkStream(
  stream: string,
  g: { entries: EntryDigest[]; seals: Array<{ s: SealRecord; i: number }>; purges: Array<{ p: PurgeRecord; i: number }> },
  sealSig: Array<string | null>,
  purgeSig: Array<string | null>,
  problems: VerifyProblem[],
  info: VerifyInfo[],
): void {
  const local: VerifyProblem[] = [];
  const add = (seq: number | undefined, kind: ProblemKind, message: string) => local.push(seq === undefined ? { stream, kind, message } : { stream, seq, kind, message });
  const name = (seq: number) => `${stream}/${seq}`;

  // --- entries in seq order, one per seq
  const sorted = g.entries.slice().sort((a, b) => a.seq - b.seq);
  const es: EntryDigest[] = [];
  for (const d of sorted) {
    const prev = es[es.length - 1];
    if (prev && prev.seq === d.seq) {
      if (prev.hash === d.hash && prev.prevHash === d.prevHash) add(d.seq, "duplicate", `entry ${name(d.seq)} appears twice (identical copies)`);
      else add(d.seq, "duplicate", `two different entries claim ${name(d.seq)} (hashes ${short(prev.hash)} and ${short(d.hash)})`);
      if (!prev.ok && d.ok) es[es.length - 1] = d;
      continue;
    }
    es.push(d);
  }
  const at = new Map<number, EntryDigest>();
  for (const d of es) at.set(d.seq, d);

  // --- purge records: signed, consistent, a prefix contiguous from seq 1
  const purges = g.purges.slice().sort((a, b) => a.p.fromSeq - b.p.fromSeq);
  const purgeEndingAt = new Map<number, { p: PurgeRecord; trusted: boolean }>();
  const covered: Array<{ from: number; to: number; trusted: boolean; p: PurgeRecord }> = [];
  let prefixEnd = 0;
  for (const { p, i } of purges) {
    const reason = purgeSig[i];
    const trusted = reason === null;
    const label = `purge record ${p.id}`;
    if (!isSeq(p.fromSeq) || !isSeq(p.toSeq) || p.toSeq < p.fromSeq) {
      add(isSeq(p.fromSeq) ? p.fromSeq : undefined, "purge_inconsistent", `${label} has an impossible range: seqs ${p.fromSeq} to ${p.toSeq}`);
      continue;
    }
    if (!trusted) {
      const missing = [];
      for (let s = p.fromSeq; s <= p.toSeq; s++) if (!at.has(s)) missing.push(s);
      const hidden = runs(missing).map(([a, b]) => range(a, b));
      add(p.fromSeq, "forged_purge", `${label} (seqs ${range(p.fromSeq, p.toSeq)}) is not signed by a trusted key: ${reason}${hidden.length ? `; entries ${hidden.join(", ")} are missing and only this record accounts for them` : ""}`);
    }
    if (p.count !== p.toSeq - p.fromSeq + 1) add(p.fromSeq, "purge_inconsistent", `${label} says it removed ${p.count} entries, but seqs ${range(p.fromSeq, p.toSeq)} are ${p.toSeq - p.fromSeq + 1}`);
    if (p.fromSeq !== prefixEnd + 1) {
      add(p.fromSeq, "purge_inconsistent", p.fromSeq <= prefixEnd ? `${label} (seqs ${range(p.fromSeq, p.toSeq)}) overlaps an earlier purge that already removed up to seq ${prefixEnd}` : `${label} starts at seq ${p.fromSeq}, but the purged prefix ends at seq ${prefixEnd}: a purge removes a prefix, so ranges run contiguously from seq 1`);
    }
    prefixEnd = Math.max(prefixEnd, p.toSeq);
    covered.push({ from: p.fromSeq, to: p.toSeq, trusted, p });
    purgeEndingAt.set(p.toSeq, { p, trusted });
  }
  const coveringPurge = (s: number) => covered.find((c) => s >= c.from && s <= c.to);

  // entries still present inside a purged range
  const present = es.filter((d) => coveringPurge(d.seq)).map((d) => d.seq);
  for (const [a, b] of runs(present)) {
    const c = coveringPurge(a)!;
    info.push({ stream, seq: a, kind: "purged_present", message: `${entriesWord(a, b)} still present although ${c.p.id} says seqs ${range(c.from, c.to)} were purged (exported while the purge ran?); checked as usual` });
  }
  for (const c of covered) {
    const last = at.get(c.to);
    if (last && last.hash !== c.p.lastHash) add(c.to, "purge_inconsistent", `purge record ${c.p.id} says entry ${name(c.to)} had hash ${short(c.p.lastHash)}, but the entry's hash is ${short(last.hash)}`);
  }

  // --- seals
  const seals = g.seals.slice().sort((a, b) => a.s.seq - b.s.seq);
  let maxSealed = 0;
  let lastGoodSeal = 0;
  const trustedSeals: SealRecord[] = [];
  for (const { s, i } of seals) {
    const reason = sealSig[i];
    const label = `seal ${s.id}`;
    if (!isSeq(s.seq)) {
      add(undefined, "seal_mismatch", `${label} names an impossible seq ${JSON.stringify(s.seq)}`);
      continue;
    }
    if (reason !== null) {
      add(s.seq, "forged_seal", `${label} (seq ${s.seq}) is not signed by a trusted key: ${reason}`);
      continue;
    }
    trustedSeals.push(s);
    maxSealed = Math.max(maxSealed, s.seq);
  }

  // --- gaps: every seq up to the highest one known must be present or purged
  const lastPresent = es.length ? es[es.length - 1].seq : 0;
  const top = Math.max(lastPresent, maxSealed, prefixEnd);
  const missing: number[] = [];
  for (let s = 1, k = 0; s <= top; s++) {
    while (k < es.length && es[k].seq < s) k++;
    if (k < es.length && es[k].seq === s) continue;
    if (!coveringPurge(s)) missing.push(s);
  }
  for (const [a, b] of runs(missing)) {
    const beyond = b > lastPresent && b > prefixEnd ? ` (seal ${stream}@${maxSealed} shows the stream reached seq ${maxSealed})` : "";
    add(a, "gap", `${a === b ? `entry ${a} of ${stream} is` : `entries ${a}–${b} of ${stream} are`} missing and no purge record covers ${a === b ? "it" : "them"}${beyond}`);
  }

  // --- each entry: id, content, link to its predecessor
  const edited = new Set<EntryDigest>();
  const brokenAt = new Map<number, VerifyProblem>();
  for (let k = 0; k < es.length; k++) {
    const d = es[k];
    if (d.badId !== undefined) add(d.seq, "bad_id", `the entry at ${name(d.seq)} has id ${JSON.stringify(d.badId)}: an id must be ${JSON.stringify(name(d.seq))}`);
    if (!d.ok) {
      edited.add(d);
      add(d.seq, "edited", `entry ${name(d.seq)}: hash does not match its content (payload, type, actor or another field was changed)`);
    }
    let expected: string | undefined;
    let from = "";
    const prev = k > 0 ? es[k - 1] : undefined;
    if (d.seq === 1) {
      expected = GENESIS_HASH;
      from = "the genesis hash (it is the stream's first entry)";
    } else if (prev && prev.seq === d.seq - 1) {
      expected = prev.hash;
      from = `the hash of entry ${name(prev.seq)}`;
    } else if (purgeEndingAt.has(d.seq - 1)) {
      expected = purgeEndingAt.get(d.seq - 1)!.p.lastHash;
      from = `the lastHash of purge record ${purgeEndingAt.get(d.seq - 1)!.p.id}, which removed the entries before it`;
    }
    if (expected !== undefined && d.prevHash !== expected) {
      const p: VerifyProblem = { stream, seq: d.seq, kind: "broken_link", message: `entry ${name(d.seq)}: prevHash ${short(d.prevHash)} does not match ${from} (${short(expected)}): the chain is broken between seq ${d.seq - 1} and ${d.seq}` };
      local.push(p);
      brokenAt.set(d.seq, p);
    }
  }

  // --- seals against the chain
  for (const s of trustedSeals) {
    const label = `seal ${s.id}`;
    const e = at.get(s.seq);
    if (e) {
      if (e.hash !== s.hash) add(s.seq, "seal_mismatch", `${label} vouches that entry ${name(s.seq)} has hash ${short(s.hash)}, but the entry's hash is ${short(e.hash)}: the chain up to seq ${s.seq} was rewritten`);
      else lastGoodSeal = Math.max(lastGoodSeal, s.seq);
      continue;
    }
    const end = purgeEndingAt.get(s.seq);
    if (end?.trusted) {
      if (end.p.lastHash !== s.hash) add(s.seq, "seal_mismatch", `${label} vouches that entry ${name(s.seq)} had hash ${short(s.hash)}, but purge record ${end.p.id} says it had ${short(end.p.lastHash)}`);
      else lastGoodSeal = Math.max(lastGoodSeal, s.seq);
      continue;
    }
    const c = coveringPurge(s.seq);
    if (c) {
      info.push({ stream, seq: s.seq, kind: "seal_uncheckable", message: `${label} is inside purged range ${range(c.from, c.to)}: the entry it vouches for is gone, so it cannot be checked` });
      lastGoodSeal = Math.max(lastGoodSeal, s.seq);
    }
    // else: the entry is missing, reported as a gap
  }
  const unsealed = es.filter((d) => d.seq > lastGoodSeal);
  if (unsealed.length) {
    const a = unsealed[0].seq;
    const b = unsealed[unsealed.length - 1].seq;
    info.push({
      stream,
      seq: a,
      kind: "unsealed",
      message: lastGoodSeal ? `entries ${range(a, b)} come after the last seal (seq ${lastGoodSeal}): they are chained, but no signature vouches for them yet` : `no seal covers this stream: entries ${range(a, b)} are chained, but no signature vouches for them yet`,
    });
  }

  // --- entries moved to other seqs (content swapped between rows, or seqs/ids exchanged)
  if (edited.size) diagnoseMoves(stream, es, edited, prefixEnd, purgeEndingAt, local, brokenAt);

  for (const p of local) problems.push(p);
}

/**
 * Follows the chain by its links (prevHash → hash) from the stream's start: the k-th entry on
 * that walk was originally seq start+k. An edited entry whose hash recomputes under that other
 * seq (and the id that goes with it) was moved there, not changed: one `reordered` problem then
 * replaces the `edited`, `bad_id` and `broken_link` problems the move causes.
 */
function diagnoseMoves(stream: string, es: EntryDigest[], edited: Set<EntryDigest>, prefixEnd: number, purgeEndingAt: Map<number, { p: PurgeRecord }>, local: VerifyProblem[], brokenAt: Map<number, VerifyProblem>): void {
  const start = prefixEnd + 1;
  let cur: string | undefined = start === 1 ? GENESIS_HASH : purgeEndingAt.get(prefixEnd)?.p.lastHash;
  if (cur === undefined) return;
  const byPrev = new Map<string, EntryDigest[]>();
  for (const d of es) {
    const l = byPrev.get(d.prevHash);
    if (l) l.push(d);
    else byPrev.set(d.prevHash, [d]);
  }
  const linkSeq = new Map<EntryDigest, number>();
  for (let seq = start; ; seq++) {
    const next: EntryDigest | undefined = byPrev.get(cur)?.find((d) => !linkSeq.has(d));
    if (!next) break;
    linkSeq.set(next, seq);
    cur = next.hash;
  }
  const moved = new Map<number, number>(); // stored at seq → originally seq
  for (const d of edited) {
    const q = linkSeq.get(d);
    if (q === undefined || q === d.seq || !d.entry) continue;
    if (recomputes({ ...d.entry, seq: q, id: `${stream}/${q}` })) moved.set(d.seq, q);
  }
  if (!moved.size) return;
  const explained = (p: VerifyProblem) => {
    if (p.seq === undefined) return false;
    if ((p.kind === "edited" || p.kind === "bad_id") && moved.has(p.seq)) return true;
    return p.kind === "broken_link" && brokenAt.get(p.seq) === p && (moved.has(p.seq) || moved.has(p.seq - 1));
  };
  for (let i = local.length - 1; i >= 0; i--) if (explained(local[i])) local.splice(i, 1);
  const done = new Set<number>();
  for (const [p, q] of [...moved].sort((a, b) => a[0] - b[0])) {
    if (done.has(p)) continue;
    if (moved.get(q) === p) {
      done.add(q);
      local.push({ stream, seq: Math.min(p, q), kind: "reordered", message: `entries ${stream}/${Math.min(p, q)} and ${stream}/${Math.max(p, q)} were swapped: the entry stored at seq ${p} is the original seq ${q} and the one at seq ${q} the original seq ${p} (each hash recomputes only under the other's seq)` });
    } else {
      local.push({ stream, seq: p, kind: "reordered", message: `the entry stored at ${stream}/${p} is the original seq ${q} (its hash recomputes only as seq ${q}): entries were moved` });
    }
  }
}
