ALTER TABLE `storage_uploads` ADD `urls_issued_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE `storage_uploads` SET `urls_issued_at` = `created_at`;--> statement-breakpoint
CREATE INDEX `storage_uploads_issued` ON `storage_uploads` (`urls_issued_at`);