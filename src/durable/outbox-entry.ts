import type { OrderedSlash } from "../chain/staking/slash-orders.js";
import type { FeeConfig } from "../ledger/ledger-config.js";
import type { AttemptSettlement } from "../ledger/settlement.js";
import type { StorageCharge } from "../ledger/storage-charge.js";
import type { JobStatus } from "../shared/job-status.js";
import type { RegistrationReceipt } from "../shared/receipts/receipt.js";
import type { RegionCountersignature } from "../shared/receipts/region-countersignature.js";
import type { SignedUsage } from "../shared/receipts/usage-statement.js";
import type { NodeRecord } from "./region-records.js";

/** The records the Region object owes D1, as its outbox stores them (see outbox.ts). */

export type JobPatch = Partial<{
  reason: string | null;
  nodeId: string | null;
  attemptId: string | null;
  attempts: number;
  exitCode: number | null;
  assignedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
}>;

export type OutboxEntry =
  | {
      kind: "transition";
      jobId: string;
      seq: number;
      status: JobStatus;
      reason: string | null;
      attemptId: string | null;
      nodeId: string | null;
      at: number;
      patch: JobPatch;
    }
  | {
      kind: "attempt-start";
      id: string;
      jobId: string;
      nodeId: string;
      fencing: number;
      gpuUuids: string[];
      pricePerGpuHourMicros: number;
      assignedAt: number;
    }
  | {
      kind: "attempt-end";
      id: string;
      startedAt: number | null;
      endedAt: number;
      exitCode: number | null;
      outcome: string;
      /** What the agent said it ran (absent in entries stored before they were recorded). */
      containerId?: string | null;
      imageDigest?: string | null;
      /** The agent's `errorKind` of an error end (absent in entries stored before it was recorded). */
      errorKind?: string | null;
    }
  | { kind: "node"; node: NodeRecord; at: number }
  /** Charges a finished attempt from its job's hold (lost and returned attempts are recorded at 0). */
  | { kind: "settle"; settlement: AttemptSettlement; fees: FeeConfig; at: number }
  /** Charges a paused job's kept checkpoint for the period it was paused. */
  | { kind: "storage-charge"; charge: StorageCharge; at: number }
  /** Gives what is left of an ended job's hold back to its account. */
  | { kind: "release"; accountId: string; jobId: string; at: number }
  /** A rejected verification's slash, for the payouts object to carry out (slash-orders.ts). */
  | { kind: "slash-order"; order: OrderedSlash }
  /** An attempt's usage statement its agent signed (checked), for the charge receipt to carry. */
  | { kind: "usage"; usage: SignedUsage; countersignature?: RegionCountersignature; at: number }
  /** A node registration (or a verification's measure of it), to be anchored with the receipts. */
  | { kind: "registration"; record: RegistrationReceipt };
