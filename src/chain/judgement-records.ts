import type { NodeRecord } from "../durable/region-records.js";
import type { RegistrationReceipt } from "../shared/receipts/receipt.js";
import type { VerificationJudgement } from "../shared/verification/messages.js";
import { registrationRecordOf } from "./receipts/registration-records.js";
import type { VerificationRecord } from "./staking/slash-evidence.js";
import { type OrderedSlash, slashOrderFor } from "./staking/slash-orders.js";

/** Where a region step owes D1 what money and receipts make of a judgement. */
export interface JudgementRecords {
  readonly nodes: ReadonlyMap<string, NodeRecord>;
  orderSlash(order: OrderedSlash): void;
  recordRegistration(record: RegistrationReceipt): void;
}

/** What the region knows of a node's verification after a judgement. */
export interface JudgedStanding {
  readonly desk: { status(nodeId: string): VerificationRecord | undefined };
  verifiedTflops(nodeId: string): number | undefined;
}

/**
 * A verification judgement's records, in the step that made it: a rejection that shows a lie orders
 * a slash of the node's stake (slash-orders.ts); a pass records the node's registration again with
 * the TFLOP/s it measured, to be anchored on chain with the receipts.
 */
export function recordJudgement(
  records: JudgementRecords,
  standing: JudgedStanding,
  judgement: VerificationJudgement,
  now: number,
): void {
  const slash = slashOrderFor(judgement, standing.desk.status(judgement.nodeId), now);
  if (slash) records.orderSlash(slash);
  const node = records.nodes.get(judgement.nodeId);
  const tflops = standing.verifiedTflops(judgement.nodeId);
  if (judgement.outcome === "verified" && node && tflops !== undefined)
    records.recordRegistration(registrationRecordOf(node, tflops, now));
}
