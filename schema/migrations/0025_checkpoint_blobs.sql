CREATE TABLE `job_checkpoint_blobs` (
	`job_id` text NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`job_id`, `sha256`)
);
