CREATE TABLE `ledger_accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`account_id` text,
	`owner_id` text,
	`balance_micros` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	CONSTRAINT "ledger_accounts_kind" CHECK("ledger_accounts"."kind" IN ('user','hold','earnings','fees','burn','issuer','topup_source','payouts')),
	CONSTRAINT "ledger_accounts_no_overdraft" CHECK("ledger_accounts"."balance_micros" >= 0 OR "ledger_accounts"."kind" IN ('issuer','topup_source')),
	CONSTRAINT "ledger_accounts_integer_balance" CHECK(typeof("ledger_accounts"."balance_micros") = 'integer')
);
--> statement-breakpoint
CREATE INDEX `ledger_accounts_account_kind` ON `ledger_accounts` (`account_id`,`kind`);--> statement-breakpoint
CREATE TABLE `ledger_settlements` (
	`attempt_id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`account_id` text NOT NULL,
	`node_id` text NOT NULL,
	`gpu_model` text,
	`gpus` integer NOT NULL,
	`price_per_gpu_hour_micros` integer NOT NULL,
	`billing_mode` text NOT NULL,
	`outcome` text NOT NULL,
	`started_at` integer,
	`ended_at` integer NOT NULL,
	`billable_seconds` integer NOT NULL,
	`metered_micros` integer NOT NULL,
	`charged_micros` integer NOT NULL,
	`shortfall_micros` integer NOT NULL,
	`fee_micros` integer NOT NULL,
	`burn_micros` integer NOT NULL,
	`provider_micros` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_settlements_job_attempt` ON `ledger_settlements` (`job_id`,`attempt_id`);--> statement-breakpoint
CREATE INDEX `ledger_settlements_account_ended` ON `ledger_settlements` (`account_id`,`ended_at`);--> statement-breakpoint
CREATE INDEX `ledger_settlements_node_ended` ON `ledger_settlements` (`node_id`,`ended_at`);--> statement-breakpoint
CREATE TABLE `ledger_transfers` (
	`id` text PRIMARY KEY NOT NULL,
	`debit_account_id` text NOT NULL,
	`credit_account_id` text NOT NULL,
	`amount_micros` integer NOT NULL,
	`kind` text NOT NULL,
	`idempotency_key` text NOT NULL,
	`request_hash` text NOT NULL,
	`account_id` text,
	`job_id` text,
	`attempt_id` text,
	`memo` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`debit_account_id`) REFERENCES `ledger_accounts`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`credit_account_id`) REFERENCES `ledger_accounts`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "ledger_transfers_amount" CHECK(typeof("ledger_transfers"."amount_micros") = 'integer' AND "ledger_transfers"."amount_micros" > 0 AND "ledger_transfers"."amount_micros" <= 1000000000000),
	CONSTRAINT "ledger_transfers_distinct" CHECK("ledger_transfers"."debit_account_id" <> "ledger_transfers"."credit_account_id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_transfers_idempotency_key` ON `ledger_transfers` (`idempotency_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_transfers_attempt_leg` ON `ledger_transfers` (`attempt_id`,`kind`) WHERE "ledger_transfers"."attempt_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `ledger_transfers_account` ON `ledger_transfers` (`account_id`,`id`);--> statement-breakpoint
CREATE INDEX `ledger_transfers_debit` ON `ledger_transfers` (`debit_account_id`);--> statement-breakpoint
CREATE INDEX `ledger_transfers_credit` ON `ledger_transfers` (`credit_account_id`);--> statement-breakpoint
CREATE TABLE `node_owners` (
	`node_id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `node_owners_account` ON `node_owners` (`account_id`);