-- The spend-rate guard of 0005 counted price cap × GPUs × nodes only, so a CPU-only job (gpus 0)
-- counted nothing against an account's max spend per hour. It now counts each active job at its
-- hourly rate as the hold does: a GPU job at maxPricePerGpuHour × GPUs, a CPU-only job at its vCPUs
-- × maxPricePerVcpuHour (the CPU table's 9,483 µUSD when the spec has none) plus its GiB × 1,271
-- (the table's GiB-hour rate), rounded to a thousandth and then up to a whole µUSD
-- (src/shared/cpu-pricing.ts `cpuHourMicros`); both × nodes. src/ledger/account-spend.ts reads the
-- same sum.
DROP TRIGGER IF EXISTS `account_limits_spend_rate_guard`;
--> statement-breakpoint
CREATE TRIGGER `account_limits_spend_rate_guard` BEFORE INSERT ON `jobs`
WHEN EXISTS (
  SELECT 1 FROM `account_limits` AS l
  WHERE l.`account_id` = NEW.`account_id` AND l.`max_spend_per_hour_micros` IS NOT NULL
    AND l.`max_spend_per_hour_micros` <
      (SELECT
         (CASE WHEN r.gpus > 0 THEN r.gpu_rate ELSE CAST(r.cpu AS INTEGER) + (r.cpu > CAST(r.cpu AS INTEGER)) END) * r.nodes
       FROM (SELECT
               coalesce(json_extract(NEW.`spec`, '$.resources.gpus'), 0) AS gpus,
               coalesce(json_extract(NEW.`spec`, '$.maxPricePerGpuHour'), 0)
                 * coalesce(json_extract(NEW.`spec`, '$.resources.gpus'), 0) AS gpu_rate,
               round(coalesce(json_extract(NEW.`spec`, '$.resources.cpus'), 1)
                       * coalesce(json_extract(NEW.`spec`, '$.maxPricePerVcpuHour'), 9483)
                     + coalesce(json_extract(NEW.`spec`, '$.resources.memoryGb'), 1) * 1271, 3) AS cpu,
               coalesce(json_extract(NEW.`spec`, '$.nodes'), 1) AS nodes) AS r)
      + (SELECT coalesce(sum(
           (CASE WHEN r.gpus > 0 THEN r.gpu_rate ELSE CAST(r.cpu AS INTEGER) + (r.cpu > CAST(r.cpu AS INTEGER)) END) * r.nodes), 0)
         FROM (SELECT
                 coalesce(json_extract(j.`spec`, '$.resources.gpus'), 0) AS gpus,
                 coalesce(json_extract(j.`spec`, '$.maxPricePerGpuHour'), 0)
                   * coalesce(json_extract(j.`spec`, '$.resources.gpus'), 0) AS gpu_rate,
                 round(coalesce(json_extract(j.`spec`, '$.resources.cpus'), 1)
                         * coalesce(json_extract(j.`spec`, '$.maxPricePerVcpuHour'), 9483)
                       + coalesce(json_extract(j.`spec`, '$.resources.memoryGb'), 1) * 1271, 3) AS cpu,
                 coalesce(json_extract(j.`spec`, '$.nodes'), 1) AS nodes
               FROM `jobs` AS j
               WHERE j.`account_id` = NEW.`account_id` AND j.`status` IN ('queued', 'assigned', 'running')) AS r)
)
BEGIN
  SELECT RAISE(ABORT, 'account_spend_rate_limit');
END;
