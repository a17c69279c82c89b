ALTER TABLE `job_outputs` ADD `expires_at` integer;--> statement-breakpoint
CREATE INDEX `job_outputs_expires` ON `job_outputs` (`expires_at`);--> statement-breakpoint
-- Files uploaded before outputs had a keep: the default 30 days from their upload (those in the platform's R2).
UPDATE `job_outputs` SET `expires_at` = `created_at` + 2592000000 WHERE json_extract(`location`, '$.kind') = 'r2';
