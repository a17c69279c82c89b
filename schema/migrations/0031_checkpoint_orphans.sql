CREATE TABLE `checkpoint_orphan_checks` (
	`job_id` text PRIMARY KEY NOT NULL,
	`due_at` integer NOT NULL,
	`offered_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `checkpoint_orphan_checks_due` ON `checkpoint_orphan_checks` (`due_at`);--> statement-breakpoint
ALTER TABLE `job_checkpoints` ADD `manifest_bytes` integer DEFAULT 0 NOT NULL;