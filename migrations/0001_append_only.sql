-- The audit store is append-only in the database itself, whatever connects to it.
-- Nothing is ever updated; the only deletion is the retention purge, and the database checks
-- it: the entry is past retain_until, no unreleased legal hold covers its run, workflow or
-- tenant, and a purge record for its range was written first (in the same transaction).
CREATE TRIGGER `audit_entries_no_update` BEFORE UPDATE ON `audit_entries`
BEGIN
  SELECT RAISE(ABORT, 'audit_entries is append-only: UPDATE is not allowed');
END;
--> statement-breakpoint
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
--> statement-breakpoint
CREATE TRIGGER `audit_seals_no_update` BEFORE UPDATE ON `audit_seals`
BEGIN
  SELECT RAISE(ABORT, 'audit_seals is append-only: UPDATE is not allowed');
END;
--> statement-breakpoint
CREATE TRIGGER `audit_seals_no_delete` BEFORE DELETE ON `audit_seals`
BEGIN
  SELECT RAISE(ABORT, 'audit_seals is append-only: DELETE is not allowed');
END;
--> statement-breakpoint
CREATE TRIGGER `audit_purges_no_update` BEFORE UPDATE ON `audit_purges`
BEGIN
  SELECT RAISE(ABORT, 'audit_purges is append-only: UPDATE is not allowed');
END;
--> statement-breakpoint
CREATE TRIGGER `audit_purges_no_delete` BEFORE DELETE ON `audit_purges`
BEGIN
  SELECT RAISE(ABORT, 'audit_purges is append-only: DELETE is not allowed');
END;
--> statement-breakpoint
CREATE TRIGGER `audit_holds_no_update` BEFORE UPDATE ON `audit_holds`
BEGIN
  SELECT RAISE(ABORT, 'audit_holds is append-only: release a hold by inserting into audit_hold_releases');
END;
--> statement-breakpoint
CREATE TRIGGER `audit_holds_no_delete` BEFORE DELETE ON `audit_holds`
BEGIN
  SELECT RAISE(ABORT, 'audit_holds is append-only: release a hold by inserting into audit_hold_releases');
END;
--> statement-breakpoint
CREATE TRIGGER `audit_hold_releases_no_update` BEFORE UPDATE ON `audit_hold_releases`
BEGIN
  SELECT RAISE(ABORT, 'audit_hold_releases is append-only: UPDATE is not allowed');
END;
--> statement-breakpoint
CREATE TRIGGER `audit_hold_releases_no_delete` BEFORE DELETE ON `audit_hold_releases`
BEGIN
  SELECT RAISE(ABORT, 'audit_hold_releases is append-only: DELETE is not allowed');
END;
