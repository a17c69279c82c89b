CREATE TABLE `accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text,
	`email` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`secret_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `api_keys_account` ON `api_keys` (`account_id`);--> statement-breakpoint
CREATE TABLE `job_attempts` (
	`id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`node_id` text NOT NULL,
	`fencing` integer NOT NULL,
	`gpu_uuids` text NOT NULL,
	`price_per_gpu_hour_micros` integer NOT NULL,
	`assigned_at` integer NOT NULL,
	`started_at` integer,
	`ended_at` integer,
	`exit_code` integer,
	`outcome` text,
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `job_attempts_job` ON `job_attempts` (`job_id`);--> statement-breakpoint
CREATE TABLE `job_events` (
	`job_id` text NOT NULL,
	`seq` integer NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`attempt_id` text,
	`node_id` text,
	`at` integer NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `job_events_job_seq` ON `job_events` (`job_id`,`seq`);--> statement-breakpoint
CREATE TABLE `job_logs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`job_id` text NOT NULL,
	`attempt_id` text NOT NULL,
	`stream` text NOT NULL,
	`data` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `job_logs_job` ON `job_logs` (`job_id`,`id`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`region` text NOT NULL,
	`image` text NOT NULL,
	`spec` text NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`node_id` text,
	`attempt_id` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`exit_code` integer,
	`created_at` integer NOT NULL,
	`assigned_at` integer,
	`started_at` integer,
	`ended_at` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `jobs_account_created` ON `jobs` (`account_id`,`id`);--> statement-breakpoint
CREATE TABLE `nodes` (
	`id` text PRIMARY KEY NOT NULL,
	`public_key` text NOT NULL,
	`region` text NOT NULL,
	`hardware` text NOT NULL,
	`gpu_count` integer NOT NULL,
	`price_per_gpu_hour_micros` integer NOT NULL,
	`labels` text NOT NULL,
	`agent_version` text NOT NULL,
	`registered_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `nodes_public_key` ON `nodes` (`public_key`);--> statement-breakpoint
CREATE INDEX `nodes_region` ON `nodes` (`region`);