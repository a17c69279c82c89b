import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Verifiable receipts (src/chain/receipts): one per settled attempt and per paid payout, signed by
 * the control plane, batched into Merkle trees whose roots are written on chain in memo
 * transactions. Times are ms.
 */

/** One signed receipt; `seq` orders the leaves of its batch. */
export const receipts = sqliteTable(
  "receipts",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    /** What it is a receipt of: the attempt id (`att_…`) of a charge, the payout id of a payout. */
    subjectId: text("subject_id").notNull().unique(),
    kind: text("kind", {
      enum: ["charge", "payout", "refund", "registration", "storage", "referral"],
    }).notNull(),
    /** The account charged, or the provider account paid. */
    accountId: text("account_id").notNull(),
    nodeId: text("node_id").notNull(),
    /** The receipt's canonical JSON: exactly the bytes its leaf hash and signature cover. */
    body: text("body").notNull(),
    /** SHA-256 of 0x00 ‖ body, hex: the Merkle leaf. */
    leafHash: text("leaf_hash").notNull(),
    /** Ed25519 by `signer` over the receipt's signing message, base58. */
    signature: text("signature").notNull(),
    signer: text("signer").notNull(),
    batchId: text("batch_id"),
    createdAt: integer("created_at").notNull(),
    /** Its position in its batch and its Merkle proof (JSON steps), stored when the batch is cut. */
    leafIndex: integer("leaf_index"),
    proof: text("proof"),
  },
  (t) => [
    index("receipts_batch").on(t.batchId, t.seq),
    index("receipts_unbatched").on(t.batchId, t.createdAt),
    // A node's registration receipts, latest first (GET /v1/receipts/<node id>).
    index("receipts_node").on(t.nodeId, t.kind, t.seq),
  ],
);

/** One Merkle tree of receipts and the memo transaction that puts its root on chain. */
export const receiptBatches = sqliteTable(
  "receipt_batches",
  {
    id: text("id").primaryKey(),
    /** SHA-256 Merkle root, hex. */
    root: text("root").notNull(),
    leaves: integer("leaves").notNull(),
    firstSeq: integer("first_seq").notNull(),
    lastSeq: integer("last_seq").notNull(),
    status: text("status", { enum: ["open", "signed", "anchored"] }).notNull(),
    /** The signed memo transaction (base64), stored before it is first sent. */
    wire: text("wire"),
    signature: text("signature"),
    lastValidBlockHeight: integer("last_valid_block_height"),
    signings: integer("signings").notNull().default(0),
    slot: integer("slot"),
    createdAt: integer("created_at").notNull(),
    anchoredAt: integer("anchored_at"),
  },
  (t) => [index("receipt_batches_status").on(t.status)],
);

export type ReceiptRow = typeof receipts.$inferSelect;
export type ReceiptBatchRow = typeof receiptBatches.$inferSelect;

/**
 * Attempts' usage statements as their agents signed them at the attempt's end (checked by the
 * region against the node key before it wrote them here) and the region's countersignature on
 * each: a charge receipt minted for the attempt carries both.
 */
export const usageSignatures = sqliteTable("usage_signatures", {
  attemptId: text("attempt_id").primaryKey(),
  nodeId: text("node_id").notNull(),
  /** The signed statement as JSON ({statement, signature, nodeKey}). */
  body: text("body").notNull(),
  /** The region's countersignature as JSON (src/shared/receipts/region-countersignature.ts); null
   * for statements kept before regions countersigned, or where no REGION_SIGNING_SEED is set. */
  countersignature: text("countersignature"),
  createdAt: integer("created_at").notNull(),
});

/**
 * Node registrations as the regions recorded them (through their outboxes): at each registration
 * and each passed verification. Each becomes a signed receipt, batched and anchored like the rest.
 */
export const nodeRegistrations = sqliteTable(
  "node_registrations",
  {
    id: text("id").primaryKey(),
    nodeId: text("node_id").notNull(),
    /** The RegistrationReceipt as JSON. */
    body: text("body").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("node_registrations_node").on(t.nodeId, t.createdAt)],
);
