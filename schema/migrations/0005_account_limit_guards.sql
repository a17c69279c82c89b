-- Guards drizzle-kit cannot express. The submit pre-checks an account's limits to answer with
-- details; these triggers repeat the check inside the submit's atomic batch, so two submits racing
-- past the pre-check cannot both commit and together pass a limit.

-- Monthly cap: what the account was charged this calendar month (UTC, by the settlement's end) plus
-- what its jobs hold plus the new hold may not pass the cap.
CREATE TRIGGER `account_limits_monthly_cap_guard` BEFORE INSERT ON `ledger_transfers`
WHEN NEW.`kind` = 'hold' AND EXISTS (
  SELECT 1 FROM `account_limits` AS l
  WHERE l.`account_id` = NEW.`account_id` AND l.`monthly_cap_micros` IS NOT NULL
    AND l.`monthly_cap_micros` < NEW.`amount_micros`
      + (SELECT coalesce(sum(s.`charged_micros`), 0) FROM `ledger_settlements` AS s
         WHERE s.`account_id` = NEW.`account_id`
           AND s.`ended_at` >= CAST(strftime('%s', NEW.`created_at` / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000)
      + (SELECT coalesce(sum(h.`balance_micros`), 0) FROM `ledger_accounts` AS h
         WHERE h.`account_id` = NEW.`account_id` AND h.`kind` = 'hold')
)
BEGIN
  SELECT RAISE(ABORT, 'account_monthly_cap_reached');
END;
--> statement-breakpoint
-- Concurrent spend: price cap × GPUs × nodes summed over the account's active jobs, the new one
-- included, may not pass the account's max spend per hour.
CREATE TRIGGER `account_limits_spend_rate_guard` BEFORE INSERT ON `jobs`
WHEN EXISTS (
  SELECT 1 FROM `account_limits` AS l
  WHERE l.`account_id` = NEW.`account_id` AND l.`max_spend_per_hour_micros` IS NOT NULL
    AND l.`max_spend_per_hour_micros` <
      coalesce(json_extract(NEW.`spec`, '$.maxPricePerGpuHour'), 0)
        * coalesce(json_extract(NEW.`spec`, '$.resources.gpus'), 0)
        * coalesce(json_extract(NEW.`spec`, '$.nodes'), 1)
      + (SELECT coalesce(sum(coalesce(json_extract(j.`spec`, '$.maxPricePerGpuHour'), 0)
                             * coalesce(json_extract(j.`spec`, '$.resources.gpus'), 0)
                             * coalesce(json_extract(j.`spec`, '$.nodes'), 1)), 0)
         FROM `jobs` AS j
         WHERE j.`account_id` = NEW.`account_id` AND j.`status` IN ('queued', 'assigned', 'running'))
)
BEGIN
  SELECT RAISE(ABORT, 'account_spend_rate_limit');
END;
--> statement-breakpoint
CREATE TRIGGER `account_events_no_update` BEFORE UPDATE ON `account_events`
BEGIN
  SELECT RAISE(ABORT, 'append_only');
END;
--> statement-breakpoint
CREATE TRIGGER `account_events_no_delete` BEFORE DELETE ON `account_events`
BEGIN
  SELECT RAISE(ABORT, 'append_only');
END;
