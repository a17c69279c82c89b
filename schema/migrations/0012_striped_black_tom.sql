CREATE TABLE `attempt_refunds` (
	`attempt_id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`account_id` text NOT NULL,
	`node_id` text NOT NULL,
	`cause` text NOT NULL,
	`dispute_id` text,
	`from_provider_micros` integer NOT NULL,
	`from_fees_micros` integer NOT NULL,
	`from_burn_micros` integer NOT NULL,
	`refunded_micros` integer NOT NULL,
	`unrecovered_micros` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `attempt_refunds_account` ON `attempt_refunds` (`account_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `attempt_refunds_node` ON `attempt_refunds` (`node_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `charge_disputes` (
	`id` text PRIMARY KEY NOT NULL,
	`attempt_id` text NOT NULL,
	`job_id` text NOT NULL,
	`account_id` text NOT NULL,
	`node_id` text NOT NULL,
	`reason` text NOT NULL,
	`state` text NOT NULL,
	`resolution` text,
	`decided_by` text,
	`created_at` integer NOT NULL,
	`decided_at` integer,
	CONSTRAINT "charge_disputes_state" CHECK("charge_disputes"."state" IN ('open','refunded','rejected'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `charge_disputes_attempt_id_unique` ON `charge_disputes` (`attempt_id`);--> statement-breakpoint
CREATE INDEX `charge_disputes_account` ON `charge_disputes` (`account_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `charge_disputes_state` ON `charge_disputes` (`state`,`created_at`);--> statement-breakpoint
ALTER TABLE `job_attempts` ADD `container_id` text;--> statement-breakpoint
ALTER TABLE `job_attempts` ADD `image_digest` text;