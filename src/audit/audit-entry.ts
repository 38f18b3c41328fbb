/**
 * An audit entry and its hash chain. Every entry belongs to one stream (a run's trail,
 * `run:<runId>`, or a tenant's own trail, `tenant:<tenant>`, for policy changes, operator
 * actions and reads) and carries a gap-free `seq` within it. Its hash is SHA-256 over the
 * canonical JSON of everything else in the entry, the previous entry's hash included, so
 * editing, deleting or reordering any entry breaks every hash after it.
 *
 * Pure and synchronous (node:crypto's SHA-256 is available in Node and, with nodejs_compat,
 * in workerd), so a Durable Object can extend a chain inside one transactionSync.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../engine/canonical-json.ts";

export const ACTOR_KINDS = ["user", "service", "approver", "system"] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

/** The hash a stream's first entry links to. */
export const GENESIS_HASH = "0".repeat(64);

export interface Redaction {
  /** what was found: email, phone, card, iban, ssn, national_id, ip, or field (a policy field rule) */
  kind: string;
  /** where, as a path into the payload (never the value) */
  path: string;
}

/** What a writer supplies; the chain adds seq, id, prevHash and hash. */
export interface AuditRecord {
  tenant: string;
  stream: string;
  at: number;
  runId: string | null;
  workflow: { id: string; version: number | null; hash: string | null } | null;
  actor: { kind: ActorKind; id: string };
  type: string;
  /** already redacted */
  payload: unknown;
  policyHash: string | null;
  redactions: Redaction[];
  retainUntil: number;
}

export interface AuditEntryBody extends AuditRecord {
  id: string;
  seq: number;
  prevHash: string;
}

export interface AuditEntry extends AuditEntryBody {
  hash: string;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

export function entryId(stream: string, seq: number): string {
  return `${stream}/${seq}`;
}

export function sha256HexSync(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The hash of an entry: SHA-256 over the canonical JSON of every field but `hash`. */
export function entryHash(body: AuditEntryBody): string {
  return sha256HexSync(canonicalJson(bodyOf(body)));
}

/** The hashed fields, in a fixed shape (an entry read back from a database may carry extra fields). */
export function bodyOf(e: AuditEntryBody): AuditEntryBody {
  return {
    id: e.id,
    tenant: e.tenant,
    stream: e.stream,
    seq: e.seq,
    at: e.at,
    runId: e.runId,
    workflow: e.workflow,
    actor: e.actor,
    type: e.type,
    payload: e.payload,
    policyHash: e.policyHash,
    redactions: e.redactions,
    retainUntil: e.retainUntil,
    prevHash: e.prevHash,
  };
}

/** Extends a stream's chain from its head with the given records, in order. */
export function extendChain(head: ChainHead, records: AuditRecord[]): { entries: AuditEntry[]; head: ChainHead } {
  let { seq, hash } = head;
  const entries: AuditEntry[] = [];
  for (const r of records) {
    seq += 1;
    const body: AuditEntryBody = { ...r, id: entryId(r.stream, seq), seq, prevHash: hash };
    hash = entryHash(body);
    entries.push({ ...body, hash });
  }
  return { entries, head: { seq, hash } };
}

export const DAY_MS = 86_400_000;
/** EU AI Act Art. 19: deployers keep automatically generated logs for at least six months. */
export const DEFAULT_RETENTION_DAYS = 183;
