CREATE TABLE `attested_devices` (
	`device_id` text PRIMARY KEY NOT NULL,
	`node_id` text NOT NULL,
	`region` text NOT NULL,
	`gpu_uuid` text NOT NULL,
	`first_attested_at` integer NOT NULL,
	`last_attested_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `attested_devices_node_idx` ON `attested_devices` (`node_id`);