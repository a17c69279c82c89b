CREATE TABLE `storage_sweep_failures` (
	`kind` text NOT NULL,
	`item_id` text NOT NULL,
	`attempts` integer NOT NULL,
	`retry_at` integer NOT NULL,
	`last_error` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`kind`, `item_id`)
);
