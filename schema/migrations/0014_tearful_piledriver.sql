ALTER TABLE `log_chunks` ADD `stdout_bytes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `log_chunks` ADD `stderr_bytes` integer DEFAULT 0 NOT NULL;