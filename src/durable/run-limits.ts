import { holdPlan, holdTermsOf } from "../ledger/hold-plan.js";
import { runLimitSeconds } from "../ledger/run-limit.js";
import { memberCpuHourMicros } from "./attempt-records.js";
import type { AttemptRecord, JobRecord } from "./region-records.js";

/** Seconds an attempt may run before its agent stops it. */
export type RunLimit = (job: JobRecord, attempt: AttemptRecord) => number;

/** Until its timeout: for regions that bill nothing (tests of pure logic). */
export const timeoutRunLimit: RunLimit = (job) => job.spec.timeoutSeconds;

/** Until its timeout, or until what is left of its job's hold is spent, whichever comes first. */
export const budgetRunLimit: RunLimit = (job, member) =>
  runLimitSeconds({
    holdMicros: holdPlan(holdTermsOf(job.spec)).holdMicros,
    spentMicros: job.spentMicros,
    pricePerGpuHourMicros: member.pricePerGpuHourMicros,
    gpus: member.gpuUuids.length,
    cpuHourMicros: memberCpuHourMicros(job, member),
    billing: job.spec.billing,
    timeoutSeconds: job.spec.timeoutSeconds,
    maxHours: job.spec.budget?.maxHours,
    members: job.members.length,
  });
