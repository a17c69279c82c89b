CREATE TABLE `account_wallets` (
	`account_id` text NOT NULL,
	`kind` text NOT NULL,
	`address` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `account_wallets_account_kind` ON `account_wallets` (`account_id`,`kind`);--> statement-breakpoint
CREATE UNIQUE INDEX `account_wallets_signin_address` ON `account_wallets` (`address`) WHERE kind = 'signin';--> statement-breakpoint
CREATE INDEX `account_wallets_address` ON `account_wallets` (`address`);--> statement-breakpoint
CREATE TABLE `siws_nonces` (
	`nonce` text PRIMARY KEY NOT NULL,
	`purpose` text NOT NULL,
	`address` text NOT NULL,
	`account_id` text,
	`message` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `topup_payments` (
	`signature` text PRIMARY KEY NOT NULL,
	`topup_id` text NOT NULL,
	`account_id` text NOT NULL,
	`mint` text NOT NULL,
	`paid_base` integer NOT NULL,
	`credited_micros` integer NOT NULL,
	`outcome` text NOT NULL,
	`slot` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `topups` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`token` text NOT NULL,
	`mint` text NOT NULL,
	`recipient` text NOT NULL,
	`reference` text NOT NULL,
	`amount_base` integer NOT NULL,
	`credit_micros` integer NOT NULL,
	`status` text NOT NULL,
	`signature` text,
	`paid_base` integer,
	`note` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "topups_amount_positive" CHECK("topups"."amount_base" > 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `topups_reference` ON `topups` (`reference`);--> statement-breakpoint
CREATE INDEX `topups_account` ON `topups` (`account_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `topups_pending` ON `topups` (`status`);