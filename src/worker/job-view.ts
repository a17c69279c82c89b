import type { JobRow } from "../../schema/tables.js";
import type { JobCost } from "../ledger/job-cost.js";
import type { JobView, PlacementExplanation } from "../shared/api.js";
import type { JobSpec } from "../shared/job-spec.js";
import type { JobStatus } from "../shared/job-status.js";
import { formatUsd } from "../shared/money.js";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Waits that end by themselves: busy nodes free up, a retry's backoff passes. */
const PASSING = new Set([null, "capacity", "retry_backoff"]);

/**
 * A job no node can take now keeps its hold until it starts or is cancelled: said with the
 * reason, so the credit is not tied up without a word.
 */
function withHold(
  explanation: PlacementExplanation | undefined,
  heldMicros: number,
): PlacementExplanation | undefined {
  if (!explanation || heldMicros <= 0 || PASSING.has(explanation.binding)) return explanation;
  return {
    ...explanation,
    message: `${explanation.message}. $${formatUsd(heldMicros)} stays held on your balance until the job starts or you cancel it`,
  };
}

/** A job row as the API shows it: ISO times, money as USD strings, its cost, the pending reason if queued. */
export function jobView(row: JobRow, cost: JobCost, placement?: PlacementExplanation): JobView {
  const explanation = withHold(placement, cost.heldMicros);
  const spec = { ...(row.spec as Record<string, unknown>) };
  if (typeof spec.maxPricePerGpuHour === "number")
    spec.maxPricePerGpuHour = formatUsd(spec.maxPricePerGpuHour);
  if (typeof spec.maxPricePerVcpuHour === "number")
    spec.maxPricePerVcpuHour = formatUsd(spec.maxPricePerVcpuHour);
  const parsed = row.spec as JobSpec;
  if (parsed.billing?.fixedPrice !== undefined) {
    spec.billing = { ...parsed.billing, fixedPrice: formatUsd(parsed.billing.fixedPrice) };
  }
  if (parsed.budget?.maxTotalUsd !== undefined) {
    spec.budget = { ...parsed.budget, maxTotalUsd: formatUsd(parsed.budget.maxTotalUsd) };
  }
  return {
    id: row.id,
    name: row.name,
    status: row.status as JobStatus,
    reason: explanation?.message ?? row.reason,
    region: row.region,
    image: row.image,
    nodeId: row.nodeId,
    attemptId: row.attemptId,
    attempts: row.attempts,
    exitCode: row.exitCode,
    createdAt: new Date(row.createdAt).toISOString(),
    assignedAt: iso(row.assignedAt),
    startedAt: iso(row.startedAt),
    endedAt: iso(row.endedAt),
    spec,
    ...(explanation ? { explanation } : {}),
    cost: {
      charged: formatUsd(cost.chargedMicros),
      chargedMicros: cost.chargedMicros,
      held: formatUsd(cost.heldMicros),
      heldMicros: cost.heldMicros,
    },
  };
}
