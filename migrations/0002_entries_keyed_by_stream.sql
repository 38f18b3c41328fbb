-- audit_entries keyed by (stream, seq) alone: the id column (`<stream>/<seq>`) keeps no index of
-- its own and the (run_id, seq) index goes (a run's entries are its stream's). Each index keyed
-- by stream is another hot page per stream when a shipment interleaves many runs; two of them
-- halved shipping. The table is rebuilt (SQLite cannot drop a primary key), which drops its
-- append-only triggers, so they are created again, unchanged.
CREATE TABLE `__new_audit_entries` (
	`id` text NOT NULL,
	`tenant` text NOT NULL,
	`stream` text NOT NULL,
	`seq` integer NOT NULL,
	`at` integer NOT NULL,
	`run_id` text,
	`workflow_id` text,
	`workflow_version` integer,
	`workflow_hash` text,
	`actor_kind` text NOT NULL,
	`actor_id` text NOT NULL,
	`type` text NOT NULL,
	`payload` text NOT NULL,
	`policy_hash` text,
	`redactions` text NOT NULL,
	`retain_until` integer NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_audit_entries`("id", "tenant", "stream", "seq", "at", "run_id", "workflow_id", "workflow_version", "workflow_hash", "actor_kind", "actor_id", "type", "payload", "policy_hash", "redactions", "retain_until", "prev_hash", "hash") SELECT "id", "tenant", "stream", "seq", "at", "run_id", "workflow_id", "workflow_version", "workflow_hash", "actor_kind", "actor_id", "type", "payload", "policy_hash", "redactions", "retain_until", "prev_hash", "hash" FROM `audit_entries`;--> statement-breakpoint
DROP TABLE `audit_entries`;--> statement-breakpoint
ALTER TABLE `__new_audit_entries` RENAME TO `audit_entries`;--> statement-breakpoint
CREATE UNIQUE INDEX `audit_entries_stream_seq` ON `audit_entries` (`stream`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_entries_tenant_at` ON `audit_entries` (`tenant`,`at`);--> statement-breakpoint
CREATE INDEX `audit_entries_retain` ON `audit_entries` (`retain_until`);--> statement-breakpoint
CREATE TRIGGER `audit_entries_no_update` BEFORE UPDATE ON `audit_entries`
BEGIN
  SELECT RAISE(ABORT, 'audit_entries is append-only: UPDATE is not allowed');
END;--> statement-breakpoint
CREATE TRIGGER `audit_entries_purge_only` BEFORE DELETE ON `audit_entries`
WHEN OLD.retain_until > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  OR EXISTS (
    SELECT 1 FROM audit_holds h
    WHERE h.tenant = OLD.tenant
      AND NOT EXISTS (SELECT 1 FROM audit_hold_releases r WHERE r.hold_id = h.id)
      AND (h.scope = 'tenant'
        OR (h.scope = 'run' AND h.scope_id = OLD.run_id)
        OR (h.scope = 'workflow' AND h.scope_id = OLD.workflow_id)))
  OR NOT EXISTS (
    SELECT 1 FROM audit_purges p
    WHERE p.stream = OLD.stream AND OLD.seq BETWEEN p.from_seq AND p.to_seq)
BEGIN
  SELECT RAISE(ABORT, 'audit_entries is append-only: only the retention purge may delete, and only entries past retain_until, under no legal hold, covered by a purge record');
END;
