ALTER TABLE `job_attempts` ADD `error_kind` text;--> statement-breakpoint
ALTER TABLE `job_attempts` ADD `fault_found_at` integer;--> statement-breakpoint
-- Attempts the sweep already refunded for the same spec's success elsewhere were counted against their nodes.
UPDATE `job_attempts` SET `fault_found_at` = (SELECT `created_at` FROM `attempt_refunds` WHERE `attempt_refunds`.`attempt_id` = `job_attempts`.`id`) WHERE `id` IN (SELECT `attempt_id` FROM `attempt_refunds` WHERE `cause` = 'same_spec_succeeded_elsewhere');
