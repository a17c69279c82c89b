import { meterAttempt } from "../ledger/attempt-meter.js";
import type { FeeConfig } from "../ledger/ledger-config.js";
import { type AttemptOutcome, isBillableOutcome } from "../ledger/settlement.js";
import { cpuHourMicros } from "../shared/cpu-pricing.js";
import type { OutboxEntry } from "./outbox-entry.js";
import type { AttemptRecord, JobRecord, NodeRecord } from "./region-records.js";

/** What an ended attempt costs the user (0 unless the outcome is theirs to pay). */
export function chargeOf(
  job: JobRecord,
  member: AttemptRecord,
  outcome: AttemptOutcome,
  endedAt: number,
): number {
  if (!isBillableOutcome(outcome)) return 0;
  return meterAttempt(
    {
      startedAt: member.startedAt,
      endedAt,
      pricePerGpuHourMicros: member.pricePerGpuHourMicros,
      gpus: member.gpuUuids.length,
      cpuHourMicros: memberCpuHourMicros(job, member),
      mode: job.spec.billing?.mode ?? "per_second",
      fixedPriceMicros: job.spec.billing?.fixedPrice,
    },
    outcome,
  ).amountMicros;
}

/**
 * What one node of a CPU-only job costs an hour at that node's price per vCPU-hour, fixed when it
 * was placed (the CPU table's for members placed before nodes set their own); 0 for GPU work.
 */
export function memberCpuHourMicros(job: JobRecord, member: AttemptRecord): number {
  return cpuHourMicros(job.spec.resources, member.pricePerVcpuHourMicros);
}

/** A CPU-only attempt's hourly CPU price, left out for GPU work so its settlement reads as before. */
function cpuPriceOf(job: JobRecord, member: AttemptRecord): { cpuHourMicros?: number } {
  const price = memberCpuHourMicros(job, member);
  return price > 0 ? { cpuHourMicros: price } : {};
}

/** The D1 records an ended attempt owes: its attempt row's end, and its settlement in the ledger. */
export function attemptEndEntries(
  job: JobRecord,
  member: AttemptRecord,
  outcome: AttemptOutcome,
  endedAt: number,
  node: NodeRecord | undefined,
  fees: FeeConfig,
): OutboxEntry[] {
  const gpu = node?.hardware.gpus.find((g) => member.gpuUuids.includes(g.uuid));
  return [
    {
      kind: "attempt-end",
      id: member.id,
      startedAt: member.startedAt,
      endedAt,
      exitCode: member.exitCode,
      outcome,
      containerId: member.containerId ?? null,
      imageDigest: member.imageDigest ?? null,
      errorKind: member.errorKind ?? null,
    },
    {
      kind: "settle",
      settlement: {
        accountId: job.accountId,
        jobId: job.id,
        attemptId: member.id,
        nodeId: member.nodeId,
        outcome,
        startedAt: member.startedAt,
        endedAt,
        pricePerGpuHourMicros: member.pricePerGpuHourMicros,
        gpus: member.gpuUuids.length,
        ...cpuPriceOf(job, member),
        ...(job.spec.billing ? { billing: job.spec.billing } : {}),
        gpuModel: gpu?.model ?? null,
      },
      fees,
      at: endedAt,
    },
  ];
}

/** The D1 record of a new attempt: its lease's fencing number and the GPUs it holds. */
export function attemptStartEntry(job: JobRecord, member: AttemptRecord, at: number): OutboxEntry {
  return {
    kind: "attempt-start",
    id: member.id,
    jobId: job.id,
    nodeId: member.nodeId,
    fencing: member.fencing,
    gpuUuids: member.gpuUuids,
    pricePerGpuHourMicros: member.pricePerGpuHourMicros,
    assignedAt: at,
  };
}
