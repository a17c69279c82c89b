ALTER TABLE `node_stakes` ADD `told_tier` text;--> statement-breakpoint
ALTER TABLE `node_stakes` ADD `told_region` text;