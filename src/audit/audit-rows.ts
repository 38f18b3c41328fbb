/**
 * Audit entries, seals and purge records as rows of the audit database and as lines of an
 * export (JSONL). One mapping, used by the shipper, the API, the export and the verifier.
 */
import { canonicalJson } from "../engine/canonical-json.ts";
import type { JWK } from "jose";
import { bodyOf, type ActorKind, type AuditEntry } from "./audit-entry.ts";

export interface AuditEntryRow {
  id: string;
  tenant: string;
  stream: string;
  seq: number;
  at: number;
  run_id: string | null;
  workflow_id: string | null;
  workflow_version: number | null;
  workflow_hash: string | null;
  actor_kind: string;
  actor_id: string;
  type: string;
  payload: string;
  policy_hash: string | null;
  redactions: string;
  retain_until: number;
  prev_hash: string;
  hash: string;
}

export const ENTRY_COLUMNS = ["id", "tenant", "stream", "seq", "at", "run_id", "workflow_id", "workflow_version", "workflow_hash", "actor_kind", "actor_id", "type", "payload", "policy_hash", "redactions", "retain_until", "prev_hash", "hash"] as const;

export function entryToRow(e: AuditEntry): AuditEntryRow {
  return {
    id: e.id,
    tenant: e.tenant,
    stream: e.stream,
    seq: e.seq,
    at: e.at,
    run_id: e.runId,
    workflow_id: e.workflow?.id ?? null,
    workflow_version: e.workflow?.version ?? null,
    workflow_hash: e.workflow?.hash ?? null,
    actor_kind: e.actor.kind,
    actor_id: e.actor.id,
    type: e.type,
    payload: canonicalJson(e.payload),
    policy_hash: e.policyHash,
    redactions: canonicalJson(e.redactions),
    retain_until: e.retainUntil,
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}

/** The row as a JSON array in ENTRY_COLUMNS order: what the outbox keeps and the shipper sends. */
export function entryToRowJson(e: AuditEntry): string {
  const r = entryToRow(e);
  return JSON.stringify(ENTRY_COLUMNS.map((c) => r[c]));
}

/** A row read back (libSQL may hand integers back as numbers or bigints). A payload that is not JSON is kept as its text, so the hash check reports it. */
export function rowToEntry(r: Record<string, unknown>): AuditEntry {
  const wid = r.workflow_id as string | null;
  return {
    id: String(r.id),
    tenant: String(r.tenant),
    stream: String(r.stream),
    seq: Number(r.seq),
    at: Number(r.at),
    runId: (r.run_id as string | null) ?? null,
    workflow: wid === null || wid === undefined ? null : { id: wid, version: r.workflow_version === null || r.workflow_version === undefined ? null : Number(r.workflow_version), hash: (r.workflow_hash as string | null) ?? null },
    actor: { kind: String(r.actor_kind) as ActorKind, id: String(r.actor_id) },
    type: String(r.type),
    payload: parseOrText(String(r.payload)),
    policyHash: (r.policy_hash as string | null) ?? null,
    redactions: parseOrText(String(r.redactions)) as AuditEntry["redactions"],
    retainUntil: Number(r.retain_until),
    prevHash: String(r.prev_hash),
    hash: String(r.hash),
  };
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A signed checkpoint of one stream's head. */
export interface SealRecord {
  id: string;
  tenant: string;
  stream: string;
  seq: number;
  hash: string;
  sealedAt: number;
  kid: string;
  /** compact JWS (EdDSA) over the checkpoint payload */
  jws: string;
}

/** What a retention purge removed: stream seqs fromSeq..toSeq, the last of which had hash lastHash; signed. */
export interface PurgeRecord {
  id: string;
  tenant: string;
  stream: string;
  fromSeq: number;
  toSeq: number;
  count: number;
  lastHash: string;
  purgedAt: number;
  kid: string;
  jws: string;
}

export function rowToSeal(r: Record<string, unknown>): SealRecord {
  return { id: String(r.id), tenant: String(r.tenant), stream: String(r.stream), seq: Number(r.seq), hash: String(r.hash), sealedAt: Number(r.sealed_at), kid: String(r.kid), jws: String(r.jws) };
}

export function rowToPurge(r: Record<string, unknown>): PurgeRecord {
  return { id: String(r.id), tenant: String(r.tenant), stream: String(r.stream), fromSeq: Number(r.from_seq), toSeq: Number(r.to_seq), count: Number(r.count), lastHash: String(r.last_hash), purgedAt: Number(r.purged_at), kid: String(r.kid), jws: String(r.jws) };
}

/** One line of an export: `{"kind":"entry"|"seal"|"purge"|"key", ...}`. */
export type ExportLine = ({ kind: "entry" } & AuditEntry) | ({ kind: "seal" } & SealRecord) | ({ kind: "purge" } & PurgeRecord) | { kind: "key"; jwk: JWK };

/** How an export's entry line begins; the entry's canonical body (less its opening brace) follows. */
export const ENTRY_LINE_HEAD = '{"kind":"entry","hash":"';

/**
 * One entry as an export line: the hash first, then the rest of the entry's canonical JSON,
 * exactly the text the hash was computed over, so a verifier can hash it without re-serializing.
 * It is still an ordinary JSON object with every field of the entry.
 */
export function entryExportLine(e: AuditEntry): string {
  return `${ENTRY_LINE_HEAD}${e.hash}",${canonicalJson(bodyOf(e)).slice(1)}`;
}
