CREATE TABLE `node_registrations` (
	`id` text PRIMARY KEY NOT NULL,
	`node_id` text NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `node_registrations_node` ON `node_registrations` (`node_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `receipts_node` ON `receipts` (`node_id`,`kind`,`seq`);