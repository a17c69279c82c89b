import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { idempotencyKeys } from "../../schema/tables.js";
import {
  type AccountLimits,
  checkAccountLimits,
  limitGuardOf,
  limitsFromRows,
  limitsQuery,
} from "../ledger/account-limits.js";
import { offerMatches } from "../ledger/estimate.js";
import { holdForNewJob } from "../ledger/hold.js";
import { holdPlan, holdTermsOf } from "../ledger/hold-plan.js";
import { type LedgerStatement, runBatch } from "../ledger/ledger-db.js";
import { requestHash } from "../ledger/request-hash.js";
import type { NodeView } from "../shared/api.js";
import { DEFAULT_VCPU_HOUR_CAP_MICROS, listedVcpuHourMicros } from "../shared/cpu-pricing.js";
import { MeridianError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import type { JobSpec } from "../shared/job-spec.js";
import { parseUsd } from "../shared/money.js";
import { admittedJobRow, admittedJobStatements, type JobRowOf } from "./job-rows.js";

/** The price cap a GPU job gets when it names none and no live offer can run it yet. */
export const DEFAULT_GPU_HOUR_CAP_USD = "4.00";

export interface Admitted {
  jobId: string;
  /** The spec as the region places it: a GPU job always carries the price cap its hold covers. */
  spec: JobSpec;
  /** True when an earlier request with the same Idempotency-Key created the job. */
  replayed: boolean;
  createdAt: number;
  /** What a new job's admission held on the balance (µUSD; 0 for none); absent for a replay. */
  heldMicros?: number;
  /** A new job's row as the admission wrote it; absent for a replay. */
  row?: JobRowOf;
}

/** Who asks for the job, and what: the Worker has checked the key, the spec and the region. */
export interface AdmissionRequest {
  accountId: string;
  spec: JobSpec;
  region: string;
  /** The caller's `Idempotency-Key`, already checked to be printable and short. */
  idempotencyKey: string | undefined;
  /** A new job's id (a sharded region's shard draws one that hashes to itself); else `newId`. */
  newJobId?: (now: number) => string;
}

function defaultCap(env: Env): number {
  const raw = (env as { DEFAULT_GPU_HOUR_CAP_USD?: unknown }).DEFAULT_GPU_HOUR_CAP_USD;
  const micros = parseUsd(typeof raw === "string" && raw !== "" ? raw : DEFAULT_GPU_HOUR_CAP_USD);
  if (micros === undefined) throw new Error("DEFAULT_GPU_HOUR_CAP_USD must be a USD amount such as 4.00");
  return micros;
}

/**
 * The most a GPU-hour of this job may cost. Named by the spec, else the dearest live offer that
 * could run it now (so the hold covers any node it might land on), else a configured default.
 * The job is placed only on nodes at or under it: the user is never billed past what was held.
 */
function priceCap(env: Env, spec: JobSpec, offers: NodeView[]): number {
  if (spec.maxPricePerGpuHour !== undefined) return spec.maxPricePerGpuHour;
  const prices = offers
    .map((node) => parseUsd(node.pricePerGpuHour))
    .filter((price): price is number => price !== undefined)
    .filter((price) => offers.some((node) => offerMatches(spec, node, price)));
  return prices.length > 0 ? Math.max(...prices) : defaultCap(env);
}

/**
 * The most a vCPU-hour of a CPU-only job may cost: named by the spec, else the dearest live offer
 * that could run it now, else the hyperscaler's rate. As with GPU work the job is placed only on
 * nodes at or under it, and held for its run at it.
 */
function vcpuPriceCap(spec: JobSpec, offers: NodeView[]): number {
  if (spec.maxPricePerVcpuHour !== undefined) return spec.maxPricePerVcpuHour;
  const prices = offers.filter((node) => offerMatches(spec, node, 0)).map(listedVcpuHourMicros);
  return prices.length > 0 ? Math.max(...prices) : DEFAULT_VCPU_HOUR_CAP_MICROS;
}

/**
 * Admits a job, inside its Region object: honours `Idempotency-Key`, fixes its price cap, checks the account's limits, and
 * writes the job row, its first event and the hold (`holdPlan`: the most the job can cost under its
 * billing mode, capped by its budget) in one atomic batch, so a job never exists without the money
 * that pays for it. 400 `budget_below_minimum` when the budget cannot buy one billable unit; 403
 * `monthly_cap_reached` / `spend_rate_limit` past the account's limits (guarded again inside the
 * batch); 402 when the balance cannot cover the hold.
 */
export async function admitJob(
  env: Env,
  request: AdmissionRequest,
  offers: () => NodeView[],
): Promise<Admitted> {
  const { accountId, spec, region } = request;
  const db = drizzle(env.DB);
  const header = request.idempotencyKey;
  const scopedKey = header === undefined ? null : `jobs:${accountId}:${header}`;
  const hash = requestHash({ spec, region });
  const keyQuery = () =>
    db
      .select()
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.scopedKey, scopedKey ?? ""))
      .limit(1);
  const replayOf = (seen: typeof idempotencyKeys.$inferSelect | undefined): Admitted | null => {
    if (!seen) return null;
    if (seen.requestHash !== hash) {
      throw new MeridianError(
        409,
        "idempotency_key_reused",
        "this Idempotency-Key was used with a different request",
      );
    }
    return { jobId: seen.resourceId, spec, replayed: true, createdAt: seen.createdAt };
  };
  const replay = async (): Promise<Admitted | null> =>
    scopedKey === null ? null : replayOf(await keyQuery().get());
  // The key and the account's limits in one D1 round trip (each a read a submit always makes).
  let limits: AccountLimits;
  if (scopedKey === null) {
    limits = limitsFromRows(await limitsQuery(db, accountId));
  } else {
    const [seen, limitRows] = await db.batch([keyQuery(), limitsQuery(db, accountId)]);
    const earlier = replayOf(seen[0]);
    if (earlier) return earlier;
    limits = limitsFromRows(limitRows);
  }

  const gpus = spec.resources.gpus;
  const admitted: JobSpec =
    gpus > 0
      ? { ...spec, maxPricePerGpuHour: priceCap(env, spec, offers()) }
      : { ...spec, maxPricePerVcpuHour: vcpuPriceCap(spec, offers()) };
  // 400 budget_below_minimum before anything is written.
  const terms = holdTermsOf(admitted);
  const plan = holdPlan(terms);
  const now = Date.now();
  const limitStatements = await checkAccountLimits(
    db,
    accountId,
    {
      holdMicros: plan.holdMicros,
      spendPerHourMicros: terms.pricePerGpuHourMicros * terms.gpus + (terms.cpuHourMicros ?? 0),
      at: now,
    },
    limits,
  );
  const jobId = request.newJobId ? request.newJobId(now) : newId("job", now);
  const row = { id: jobId, accountId, region, spec: admitted, at: now };
  const statements: LedgerStatement[] = [...admittedJobStatements(db, row), ...limitStatements];
  if (scopedKey !== null) {
    statements.push(
      db.insert(idempotencyKeys).values({ scopedKey, requestHash: hash, resourceId: jobId, createdAt: now }),
    );
  }
  try {
    if (plan.holdMicros > 0) {
      // The job id was drawn just now, so its hold's key is new: one batch, no reads around it.
      await holdForNewJob(
        db,
        { accountId, jobId, amountMicros: plan.holdMicros, minimumMicros: plan.minimumMicros, at: now },
        statements,
      );
    } else {
      await runBatch(db, statements);
    }
  } catch (error) {
    // Two requests with one key at once: the second batch hits the key's primary key and rolls
    // back whole; it answers what the first created.
    const raced = await replay();
    if (raced) return raced;
    // Another submit of the account committed between the limit check and this batch, and the
    // guard triggers refused this one: check again for the error with its details.
    if (limitGuardOf(error) !== null) {
      await checkAccountLimits(db, accountId, {
        holdMicros: plan.holdMicros,
        spendPerHourMicros: terms.pricePerGpuHourMicros * terms.gpus + (terms.cpuHourMicros ?? 0),
        at: Date.now(),
      });
      const code = limitGuardOf(error) ?? "monthly_cap_reached";
      throw new MeridianError(403, code, "the account's spending limits do not allow this job now");
    }
    throw error;
  }
  return {
    jobId,
    spec: admitted,
    replayed: false,
    createdAt: now,
    heldMicros: plan.holdMicros,
    row: admittedJobRow(row),
  };
}
