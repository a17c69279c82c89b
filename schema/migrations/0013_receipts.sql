CREATE TABLE `receipt_batches` (
	`id` text PRIMARY KEY NOT NULL,
	`root` text NOT NULL,
	`leaves` integer NOT NULL,
	`first_seq` integer NOT NULL,
	`last_seq` integer NOT NULL,
	`status` text NOT NULL,
	`wire` text,
	`signature` text,
	`last_valid_block_height` integer,
	`signings` integer DEFAULT 0 NOT NULL,
	`slot` integer,
	`created_at` integer NOT NULL,
	`anchored_at` integer
);
--> statement-breakpoint
CREATE INDEX `receipt_batches_status` ON `receipt_batches` (`status`);--> statement-breakpoint
CREATE TABLE `receipts` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`subject_id` text NOT NULL,
	`kind` text NOT NULL,
	`account_id` text NOT NULL,
	`node_id` text NOT NULL,
	`body` text NOT NULL,
	`leaf_hash` text NOT NULL,
	`signature` text NOT NULL,
	`signer` text NOT NULL,
	`batch_id` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `receipts_subject_id_unique` ON `receipts` (`subject_id`);--> statement-breakpoint
CREATE INDEX `receipts_batch` ON `receipts` (`batch_id`,`seq`);--> statement-breakpoint
CREATE INDEX `receipts_unbatched` ON `receipts` (`batch_id`,`created_at`);