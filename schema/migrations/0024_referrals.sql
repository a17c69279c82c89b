CREATE TABLE `referral_codes` (
	`account_id` text PRIMARY KEY NOT NULL,
	`code` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `referral_codes_code` ON `referral_codes` (`code`);--> statement-breakpoint
CREATE TABLE `referrals` (
	`referred_account_id` text PRIMARY KEY NOT NULL,
	`referrer_account_id` text NOT NULL,
	`code` text NOT NULL,
	`share_bps` integer NOT NULL,
	`ends_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	CONSTRAINT "referrals_not_self" CHECK("referrals"."referred_account_id" <> "referrals"."referrer_account_id"),
	CONSTRAINT "referrals_share_bps" CHECK("referrals"."share_bps" BETWEEN 0 AND 10000)
);
--> statement-breakpoint
CREATE INDEX `referrals_referrer` ON `referrals` (`referrer_account_id`);