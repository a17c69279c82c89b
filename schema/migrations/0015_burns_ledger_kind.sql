CREATE TABLE `burns` (
	`id` text PRIMARY KEY NOT NULL,
	`reserve_micros` integer NOT NULL,
	`rate_micros` integer NOT NULL,
	`mrd_base` integer NOT NULL,
	`status` text NOT NULL,
	`wire` text,
	`signature` text,
	`last_valid_block_height` integer,
	`signings` integer DEFAULT 0 NOT NULL,
	`expired_signatures` text DEFAULT '[]' NOT NULL,
	`slot` integer,
	`error` text,
	`claimed_at` integer NOT NULL,
	`burned_at` integer,
	CONSTRAINT "burns_amounts_positive" CHECK("burns"."reserve_micros" > 0 AND "burns"."mrd_base" > 0 AND "burns"."rate_micros" > 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `burns_one_open` ON `burns` (`status`) WHERE status = 'open';--> statement-breakpoint
CREATE INDEX `burns_claimed` ON `burns` (`claimed_at`);--> statement-breakpoint
-- The ledger gains the `burned` account kind: SQLite cannot alter a CHECK, so ledger_accounts is
-- rebuilt, by hand rather than drizzle-kit's rename dance. D1 runs a migration in one transaction,
-- where `PRAGMA foreign_keys=OFF` does nothing: dropping the table counts each transfer's account as
-- a deferred violation, and inserting the same ids again cancels each one before the commit checks.
-- Copying back into a table created under its final name (no ALTER … RENAME) leaves the triggers on
-- ledger_transfers that name ledger_accounts untouched; the table's own triggers are recreated.
PRAGMA defer_foreign_keys = on;--> statement-breakpoint
CREATE TABLE `__ledger_accounts_copy` AS SELECT `id`, `kind`, `account_id`, `owner_id`, `balance_micros`, `created_at` FROM `ledger_accounts`;--> statement-breakpoint
DROP TABLE `ledger_accounts`;--> statement-breakpoint
CREATE TABLE `ledger_accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`account_id` text,
	`owner_id` text,
	`balance_micros` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	CONSTRAINT "ledger_accounts_kind" CHECK("ledger_accounts"."kind" IN ('user','hold','earnings','fees','burn','issuer','topup_source','payouts','burned')),
	CONSTRAINT "ledger_accounts_no_overdraft" CHECK("ledger_accounts"."balance_micros" >= 0 OR "ledger_accounts"."kind" IN ('issuer','topup_source')),
	CONSTRAINT "ledger_accounts_integer_balance" CHECK(typeof("ledger_accounts"."balance_micros") = 'integer')
);
--> statement-breakpoint
INSERT INTO `ledger_accounts` (`id`, `kind`, `account_id`, `owner_id`, `balance_micros`, `created_at`) SELECT `id`, `kind`, `account_id`, `owner_id`, `balance_micros`, `created_at` FROM `__ledger_accounts_copy`;--> statement-breakpoint
DROP TABLE `__ledger_accounts_copy`;--> statement-breakpoint
CREATE INDEX `ledger_accounts_account_kind` ON `ledger_accounts` (`account_id`,`kind`);--> statement-breakpoint
CREATE TRIGGER `ledger_accounts_no_delete` BEFORE DELETE ON `ledger_accounts`
BEGIN
  SELECT RAISE(ABORT, 'ledger_append_only');
END;
--> statement-breakpoint
CREATE TRIGGER `ledger_accounts_fixed_identity` BEFORE UPDATE OF `id`, `kind`, `account_id`, `owner_id` ON `ledger_accounts`
BEGIN
  SELECT RAISE(ABORT, 'ledger_append_only');
END;
