CREATE TABLE `endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`spec` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer,
	`live_name` text
);
--> statement-breakpoint
CREATE INDEX `endpoints_account` ON `endpoints` (`account_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `endpoints_live_name` ON `endpoints` (`account_id`,`live_name`);