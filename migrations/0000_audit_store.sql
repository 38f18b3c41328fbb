CREATE TABLE `audit_entries` (
	`id` text PRIMARY KEY NOT NULL,
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
CREATE UNIQUE INDEX `audit_entries_stream_seq` ON `audit_entries` (`stream`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_entries_tenant_at` ON `audit_entries` (`tenant`,`at`);--> statement-breakpoint
CREATE INDEX `audit_entries_run` ON `audit_entries` (`run_id`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_entries_retain` ON `audit_entries` (`retain_until`);--> statement-breakpoint
CREATE TABLE `audit_hold_releases` (
	`hold_id` text PRIMARY KEY NOT NULL,
	`released_by` text NOT NULL,
	`released_at` integer NOT NULL,
	`reason` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `audit_holds` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant` text NOT NULL,
	`scope` text NOT NULL,
	`scope_id` text NOT NULL,
	`reason` text NOT NULL,
	`placed_by` text NOT NULL,
	`placed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_holds_tenant` ON `audit_holds` (`tenant`);--> statement-breakpoint
CREATE TABLE `audit_purges` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant` text NOT NULL,
	`stream` text NOT NULL,
	`from_seq` integer NOT NULL,
	`to_seq` integer NOT NULL,
	`count` integer NOT NULL,
	`last_hash` text NOT NULL,
	`purged_at` integer NOT NULL,
	`kid` text NOT NULL,
	`jws` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_purges_stream` ON `audit_purges` (`stream`,`to_seq`);--> statement-breakpoint
CREATE INDEX `audit_purges_tenant` ON `audit_purges` (`tenant`);--> statement-breakpoint
CREATE TABLE `audit_seals` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant` text NOT NULL,
	`stream` text NOT NULL,
	`seq` integer NOT NULL,
	`hash` text NOT NULL,
	`sealed_at` integer NOT NULL,
	`kid` text NOT NULL,
	`jws` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_seals_stream` ON `audit_seals` (`stream`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_seals_tenant` ON `audit_seals` (`tenant`);