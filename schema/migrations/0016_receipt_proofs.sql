ALTER TABLE `receipts` ADD `leaf_index` integer;--> statement-breakpoint
ALTER TABLE `receipts` ADD `proof` text;