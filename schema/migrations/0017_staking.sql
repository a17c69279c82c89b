CREATE TABLE `node_stakes` (
	`node_id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`staked_base` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "node_stakes_not_negative" CHECK("node_stakes"."staked_base" >= 0)
);
--> statement-breakpoint
CREATE INDEX `node_stakes_account` ON `node_stakes` (`account_id`);--> statement-breakpoint
CREATE TABLE `stake_deposits` (
	`signature` text PRIMARY KEY NOT NULL,
	`node_id` text NOT NULL,
	`account_id` text NOT NULL,
	`wallet` text NOT NULL,
	`amount_base` integer NOT NULL,
	`slot` integer NOT NULL,
	`created_at` integer NOT NULL,
	CONSTRAINT "stake_deposits_positive" CHECK("stake_deposits"."amount_base" > 0)
);
--> statement-breakpoint
CREATE INDEX `stake_deposits_node` ON `stake_deposits` (`node_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `stake_transfers` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`node_id` text NOT NULL,
	`account_id` text NOT NULL,
	`amount_base` integer NOT NULL,
	`status` text NOT NULL,
	`ready_at` integer NOT NULL,
	`destination` text,
	`evidence` text,
	`evidence_hash` text,
	`reason` text,
	`wire` text,
	`signature` text,
	`last_valid_block_height` integer,
	`signings` integer DEFAULT 0 NOT NULL,
	`expired_signatures` text DEFAULT '[]' NOT NULL,
	`send_refusals` integer DEFAULT 0 NOT NULL,
	`slot` integer,
	`error` text,
	`created_at` integer NOT NULL,
	`done_at` integer,
	CONSTRAINT "stake_transfers_not_negative" CHECK("stake_transfers"."amount_base" >= 0)
);
--> statement-breakpoint
CREATE INDEX `stake_transfers_node` ON `stake_transfers` (`node_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `stake_transfers_status` ON `stake_transfers` (`status`,`ready_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `stake_transfers_evidence` ON `stake_transfers` (`evidence`) WHERE evidence IS NOT NULL;--> statement-breakpoint
ALTER TABLE `payout_batches` ADD `send_refusals` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `burns` ADD `send_refusals` integer DEFAULT 0 NOT NULL;