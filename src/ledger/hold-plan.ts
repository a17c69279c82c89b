import type { Billing } from "../shared/billing.js";
import { DEFAULT_BILLING } from "../shared/billing.js";
import { cpuHourMicros } from "../shared/cpu-pricing.js";
import { MeridianError } from "../shared/errors.js";
import type { JobBudget, JobSpec } from "../shared/job-spec.js";
import { maxCost, minimumCharge, requireBudget } from "./meter.js";

/** What fixes a job's hold: its price cap, size, billing terms, timeout and budget. */
export interface HoldTerms {
  /** The job's price cap: no node dearer than this runs it, so no attempt costs more per hour. */
  pricePerGpuHourMicros: number;
  /** GPUs over all of the job's nodes. */
  gpus: number;
  /** CPU-only work: the hourly price at its vCPU-hour cap over all of the job's nodes (0 for GPU jobs). */
  cpuHourMicros?: number;
  billing?: Billing;
  timeoutSeconds: number;
  budget?: JobBudget;
}

export interface HoldPlan {
  /** What to reserve at submit: the most the job can cost, capped by `budget.maxTotalUsd`. */
  holdMicros: number;
  /** One billable unit at the cap (a second, an hour, a day, or the fixed price). */
  minimumMicros: number;
  /** How long a billable attempt may run: the timeout, or `budget.maxHours` when shorter. */
  runSeconds: number;
  /** True when `budget.maxTotalUsd` is below the full run's cost: the job stops when it is spent. */
  budgetCapped: boolean;
}

/**
 * The hold of a job: what its billing mode charges for a run to min(timeout, budget.maxHours) at its
 * price cap, capped by budget.maxTotalUsd. Only one attempt of a job is ever billable (lost and
 * returned attempts are free, the user's own outcomes end the job), so one run is the most it can
 * cost. 400 `budget_below_minimum` when the budget cannot buy one billable unit — a maxTotalUsd
 * under one second (hour, day, fixed price) at the cap, or maxHours under one second.
 */
export function holdPlan(terms: HoldTerms): HoldPlan {
  const billing = terms.billing ?? DEFAULT_BILLING;
  const meterTerms = {
    pricePerGpuHourMicros: terms.pricePerGpuHourMicros,
    gpus: terms.gpus,
    cpuHourMicros: terms.cpuHourMicros,
    mode: billing.mode,
    fixedPriceMicros: billing.fixedPrice,
  };
  const minimumMicros = minimumCharge(meterTerms);
  const maxHours = terms.budget?.maxHours;
  const hourSeconds = maxHours === undefined ? terms.timeoutSeconds : Math.floor(maxHours * 3600);
  if (hourSeconds < 1) {
    throw new MeridianError(400, "budget_below_minimum", "budget.maxHours is below one second of run time", {
      maxHours,
    });
  }
  const runSeconds = Math.min(terms.timeoutSeconds, hourSeconds);
  const full = maxCost(meterTerms, runSeconds);
  const cap = terms.budget?.maxTotalUsd;
  if (cap !== undefined) requireBudget(cap, minimumMicros);
  const holdMicros = cap === undefined ? full : Math.min(full, cap);
  return { holdMicros, minimumMicros, runSeconds, budgetCapped: cap !== undefined && cap < full };
}

/**
 * A job's hold terms from its admitted spec (the price cap is fixed at admission: per GPU-hour for
 * GPU jobs, per vCPU-hour for CPU-only ones, which pay it for what each of their nodes reserves;
 * a spec without a vCPU cap is held at the CPU table's rate). The
 * Region object calls `holdPlan(holdTermsOf(job.spec)).holdMicros` to know what `runLimitSeconds`
 * may spend, without asking D1.
 */
export function holdTermsOf(spec: JobSpec): HoldTerms {
  const nodes = spec.nodes ?? 1;
  return {
    pricePerGpuHourMicros: spec.maxPricePerGpuHour ?? 0,
    gpus: spec.resources.gpus * nodes,
    cpuHourMicros: cpuHourMicros(spec.resources, spec.maxPricePerVcpuHour) * nodes,
    billing: spec.billing,
    timeoutSeconds: spec.timeoutSeconds,
    budget: spec.budget,
  };
}
