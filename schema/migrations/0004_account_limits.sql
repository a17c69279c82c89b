CREATE TABLE `account_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` text NOT NULL,
	`kind` text NOT NULL,
	`period` text NOT NULL,
	`details` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `account_events_once` ON `account_events` (`account_id`,`kind`,`period`);--> statement-breakpoint
CREATE INDEX `account_events_account` ON `account_events` (`account_id`,`id`);--> statement-breakpoint
CREATE TABLE `account_limits` (
	`account_id` text PRIMARY KEY NOT NULL,
	`monthly_cap_micros` integer,
	`max_spend_per_hour_micros` integer,
	`updated_at` integer NOT NULL,
	CONSTRAINT "account_limits_monthly_cap" CHECK("account_limits"."monthly_cap_micros" IS NULL OR (typeof("account_limits"."monthly_cap_micros") = 'integer' AND "account_limits"."monthly_cap_micros" > 0)),
	CONSTRAINT "account_limits_spend_per_hour" CHECK("account_limits"."max_spend_per_hour_micros" IS NULL OR (typeof("account_limits"."max_spend_per_hour_micros") = 'integer' AND "account_limits"."max_spend_per_hour_micros" > 0))
);
