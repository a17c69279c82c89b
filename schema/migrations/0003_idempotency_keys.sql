CREATE TABLE `idempotency_keys` (
	`scoped_key` text PRIMARY KEY NOT NULL,
	`request_hash` text NOT NULL,
	`resource_id` text NOT NULL,
	`created_at` integer NOT NULL
);
