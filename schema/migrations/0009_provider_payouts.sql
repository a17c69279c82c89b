CREATE TABLE `payout_batches` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`wire` text,
	`signature` text,
	`last_valid_block_height` integer,
	`signings` integer DEFAULT 0 NOT NULL,
	`expired_signatures` text DEFAULT '[]' NOT NULL,
	`slot` integer,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `payout_batches_status` ON `payout_batches` (`status`);--> statement-breakpoint
CREATE TABLE `payouts` (
	`id` text PRIMARY KEY NOT NULL,
	`node_id` text NOT NULL,
	`account_id` text NOT NULL,
	`wallet` text NOT NULL,
	`amount_micros` integer NOT NULL,
	`status` text NOT NULL,
	`batch_id` text,
	`signature` text,
	`note` text,
	`claimed_at` integer NOT NULL,
	`paid_at` integer,
	CONSTRAINT "payouts_amount_positive" CHECK("payouts"."amount_micros" > 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payouts_open_node` ON `payouts` (`node_id`) WHERE status = 'claimed';--> statement-breakpoint
CREATE INDEX `payouts_account` ON `payouts` (`account_id`,`claimed_at`);--> statement-breakpoint
CREATE INDEX `payouts_batch` ON `payouts` (`batch_id`);