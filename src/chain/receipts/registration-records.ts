import { nodeRegistrations } from "../../../schema/receipts.js";
import type { NodeRecord } from "../../durable/region-records.js";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import { newId } from "../../shared/ids.js";
import type { RegistrationReceipt } from "../../shared/receipts/receipt.js";

/**
 * What a region records of a node registration, to be signed and anchored with the receipts: the
 * node key, its GPUs (as the catalogue names them), its verified TFLOP/s per GPU when known, and
 * when. Recorded when the node registers and again when a verification measures it.
 */
export function registrationRecordOf(
  node: NodeRecord,
  verifiedTflops: number | undefined,
  at: number,
): RegistrationReceipt {
  return {
    v: 1,
    kind: "registration",
    registrationId: newId("nrg", at),
    nodeId: node.id,
    nodeKey: node.publicKey,
    region: node.region,
    gpus: node.hardware.gpus.map((gpu) => ({
      uuid: gpu.uuid,
      model: gpu.model ?? null,
      vramMib: gpu.vramMib,
    })),
    verifiedTflops: verifiedTflops ?? null,
    registeredAt: node.registeredAt,
    at,
  };
}

/** The outbox's insert: once per record, however often the flush runs. */
export function registrationInsert(db: LedgerDb, record: RegistrationReceipt) {
  return db
    .insert(nodeRegistrations)
    .values({
      id: record.registrationId,
      nodeId: record.nodeId,
      body: JSON.stringify(record),
      createdAt: record.at,
    })
    .onConflictDoNothing();
}
