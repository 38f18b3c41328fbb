/**
 * The audit database (libSQL) schema, for drizzle-kit (`npm run db:generate` writes
 * `migrations/`). The append-only rules live in the database itself: see the triggers in
 * `migrations/0001_append_only.sql`.
 *
 * Times are integers (milliseconds since the epoch, UTC). JSON columns hold canonical JSON.
 */
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const auditEntries = sqliteTable(
  "audit_entries",
  {
    /** `<stream>/<seq>`: unique through the (stream, seq) key; not indexed of its own */
    id: text("id").notNull(),
    tenant: text("tenant").notNull(),
    stream: text("stream").notNull(),
    seq: integer("seq").notNull(),
    at: integer("at").notNull(),
    runId: text("run_id"),
    workflowId: text("workflow_id"),
    workflowVersion: integer("workflow_version"),
    workflowHash: text("workflow_hash"),
    actorKind: text("actor_kind").notNull(),
    actorId: text("actor_id").notNull(),
    type: text("type").notNull(),
    payload: text("payload").notNull(),
    policyHash: text("policy_hash"),
    redactions: text("redactions").notNull(),
    retainUntil: integer("retain_until").notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  // Few indexes, on purpose: a shipment interleaves many streams, and every index keyed by
  // stream is one more set of hot pages per stream (a second one halved shipping). (stream, seq)
  // is the conflict target; a run's entries are its stream's (plus reads of it on the tenant
  // stream); (tenant, at) and retain_until grow at their ends.
  (t) => [uniqueIndex("audit_entries_stream_seq").on(t.stream, t.seq), index("audit_entries_tenant_at").on(t.tenant, t.at), index("audit_entries_retain").on(t.retainUntil)],
);

/** Signed checkpoints: a stream's head (seq, hash) sealed with Ed25519 as a compact JWS. */
export const auditSeals = sqliteTable(
  "audit_seals",
  {
    id: text("id").primaryKey(),
    tenant: text("tenant").notNull(),
    stream: text("stream").notNull(),
    seq: integer("seq").notNull(),
    hash: text("hash").notNull(),
    sealedAt: integer("sealed_at").notNull(),
    kid: text("kid").notNull(),
    jws: text("jws").notNull(),
  },
  (t) => [index("audit_seals_stream").on(t.stream, t.seq), index("audit_seals_tenant").on(t.tenant)],
);

/** What a retention purge removed from a stream (a prefix from_seq..to_seq) and the hash it ended on, signed. */
export const auditPurges = sqliteTable(
  "audit_purges",
  {
    id: text("id").primaryKey(),
    tenant: text("tenant").notNull(),
    stream: text("stream").notNull(),
    fromSeq: integer("from_seq").notNull(),
    toSeq: integer("to_seq").notNull(),
    count: integer("count").notNull(),
    lastHash: text("last_hash").notNull(),
    purgedAt: integer("purged_at").notNull(),
    kid: text("kid").notNull(),
    jws: text("jws").notNull(),
  },
  (t) => [index("audit_purges_stream").on(t.stream, t.toSeq), index("audit_purges_tenant").on(t.tenant)],
);

/** Legal holds: while a hold has no release, the trigger refuses to purge what it covers. */
export const auditHolds = sqliteTable(
  "audit_holds",
  {
    id: text("id").primaryKey(),
    tenant: text("tenant").notNull(),
    scope: text("scope", { enum: ["run", "workflow", "tenant"] }).notNull(),
    scopeId: text("scope_id").notNull(),
    reason: text("reason").notNull(),
    placedBy: text("placed_by").notNull(),
    placedAt: integer("placed_at").notNull(),
  },
  (t) => [index("audit_holds_tenant").on(t.tenant)],
);

export const auditHoldReleases = sqliteTable("audit_hold_releases", {
  holdId: text("hold_id").primaryKey(),
  releasedBy: text("released_by").notNull(),
  releasedAt: integer("released_at").notNull(),
  reason: text("reason").notNull(),
});
