CREATE TABLE `storage_uploads` (
	`upload_id` text PRIMARY KEY NOT NULL,
	`location` text NOT NULL,
	`account_id` text NOT NULL,
	`job_id` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `storage_uploads_created` ON `storage_uploads` (`created_at`);