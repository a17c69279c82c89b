CREATE TABLE `usage_signatures` (
	`attempt_id` text PRIMARY KEY NOT NULL,
	`node_id` text NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL
);
