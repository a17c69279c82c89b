CREATE TABLE `slash_orders` (
	`evidence` text PRIMARY KEY NOT NULL,
	`node_id` text NOT NULL,
	`reason` text NOT NULL,
	`record` text NOT NULL,
	`state` text DEFAULT 'open' NOT NULL,
	`transfer_id` text,
	`created_at` integer NOT NULL,
	`done_at` integer
);
--> statement-breakpoint
CREATE INDEX `slash_orders_open` ON `slash_orders` (`state`,`created_at`);