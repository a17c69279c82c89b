CREATE TABLE `job_checkpoints` (
	`job_id` text NOT NULL,
	`seq` integer NOT NULL,
	`attempt_id` text NOT NULL,
	`manifest_key` text NOT NULL,
	`files` integer NOT NULL,
	`bytes` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`job_id`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `job_outputs` (
	`job_id` text NOT NULL,
	`attempt_id` text NOT NULL,
	`path` text NOT NULL,
	`size` integer NOT NULL,
	`sha256` text NOT NULL,
	`cid` text,
	`location` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `job_outputs_job_path` ON `job_outputs` (`job_id`,`path`);--> statement-breakpoint
CREATE TABLE `log_chunks` (
	`job_id` text NOT NULL,
	`attempt_id` text NOT NULL,
	`seq` integer NOT NULL,
	`key` text NOT NULL,
	`bytes` integer NOT NULL,
	`first_at` integer NOT NULL,
	`last_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`attempt_id`, `seq`)
);
--> statement-breakpoint
CREATE INDEX `log_chunks_job` ON `log_chunks` (`job_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `secrets` (
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`ciphertext` text NOT NULL,
	`iv` text NOT NULL,
	`wrapped_key` text NOT NULL,
	`wrap_iv` text NOT NULL,
	`key_version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `name`)
);
