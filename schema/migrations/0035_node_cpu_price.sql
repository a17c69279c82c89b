ALTER TABLE `nodes` ADD `price_per_vcpu_hour_micros` integer;
-- Null: the node asks the CPU table's rate. A node registered before this column gets its own price at its next registration (every agent start), as its GPU price is rewritten then.
