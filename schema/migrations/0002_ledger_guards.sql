-- Guards drizzle-kit cannot express. Balances change only through transfers: inserting a transfer
-- moves its amount in the same statement, so an idempotent INSERT … ON CONFLICT DO NOTHING that
-- finds its key already used moves nothing, and a transfer that would overdraw a guarded account
-- fails the ledger_accounts_no_overdraft CHECK and rolls back the whole D1 batch.
CREATE TRIGGER `ledger_transfers_known_accounts` BEFORE INSERT ON `ledger_transfers`
WHEN (SELECT count(*) FROM `ledger_accounts` WHERE `id` IN (NEW.`debit_account_id`, NEW.`credit_account_id`)) < 2
BEGIN
  SELECT RAISE(ABORT, 'ledger_unknown_account');
END;
--> statement-breakpoint
CREATE TRIGGER `ledger_transfers_apply` AFTER INSERT ON `ledger_transfers`
BEGIN
  UPDATE `ledger_accounts` SET `balance_micros` = `balance_micros` - NEW.`amount_micros` WHERE `id` = NEW.`debit_account_id`;
  UPDATE `ledger_accounts` SET `balance_micros` = `balance_micros` + NEW.`amount_micros` WHERE `id` = NEW.`credit_account_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `ledger_transfers_no_update` BEFORE UPDATE ON `ledger_transfers`
BEGIN
  SELECT RAISE(ABORT, 'ledger_append_only');
END;
--> statement-breakpoint
CREATE TRIGGER `ledger_transfers_no_delete` BEFORE DELETE ON `ledger_transfers`
BEGIN
  SELECT RAISE(ABORT, 'ledger_append_only');
END;
--> statement-breakpoint
CREATE TRIGGER `ledger_settlements_no_update` BEFORE UPDATE ON `ledger_settlements`
BEGIN
  SELECT RAISE(ABORT, 'ledger_append_only');
END;
--> statement-breakpoint
CREATE TRIGGER `ledger_settlements_no_delete` BEFORE DELETE ON `ledger_settlements`
BEGIN
  SELECT RAISE(ABORT, 'ledger_append_only');
END;
--> statement-breakpoint
CREATE TRIGGER `ledger_accounts_no_delete` BEFORE DELETE ON `ledger_accounts`
BEGIN
  SELECT RAISE(ABORT, 'ledger_append_only');
END;
--> statement-breakpoint
-- An account's kind and identity never change; only its balance does, and only through the trigger above.
CREATE TRIGGER `ledger_accounts_fixed_identity` BEFORE UPDATE OF `id`, `kind`, `account_id`, `owner_id` ON `ledger_accounts`
BEGIN
  SELECT RAISE(ABORT, 'ledger_append_only');
END;
