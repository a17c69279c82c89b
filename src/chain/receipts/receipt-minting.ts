import { sql } from "drizzle-orm";
import { receipts } from "../../../schema/receipts.js";
import { type LedgerDb, type LedgerStatement, runBatch } from "../../ledger/ledger-db.js";
import { REFERRAL_KIND, REFERRAL_REVERSAL_KIND } from "../../ledger/referrals.js";
import {
  type ChargeReceipt,
  type PayoutReceipt,
  type Receipt,
  type ReferralReceipt,
  type RefundReceipt,
  RegistrationReceipt,
  receiptLeaf,
  receiptSubject,
  type StorageReceipt,
  signReceiptLeaf,
} from "../../shared/receipts/receipt.js";
import { RegionCountersignature } from "../../shared/receipts/region-countersignature.js";
import { SignedUsage } from "../../shared/receipts/usage-statement.js";

/** The key receipts are signed with: the treasury's seed and its address. */
export interface ReceiptSigner {
  /** The 32-byte ed25519 seed (the first half of a Solana keypair file). */
  seed: Uint8Array;
  /** Its public key, base58. */
  address: string;
}

/** Receipts signed per D1 batch: one insert per receipt keeps each under D1's bound-parameter cap. */
const MINT_CHUNK = 200;

interface SettlementRow {
  attempt_id: string;
  job_id: string;
  account_id: string;
  node_id: string;
  gpu_model: string | null;
  gpus: number;
  price_per_gpu_hour_micros: number;
  cpu_hour_micros: number;
  billing_mode: string;
  outcome: string;
  started_at: number | null;
  ended_at: number;
  billable_seconds: number;
  charged_micros: number;
  fee_micros: number;
  burn_micros: number;
  provider_micros: number;
  /** The agent's signed usage statement (usage_signatures), when it sent one. */
  usage_body?: string | null;
  /** The region's countersignature on it, when the region signed one. */
  usage_countersignature?: string | null;
}

interface PaidPayoutRow {
  id: string;
  account_id: string;
  node_id: string;
  wallet: string;
  amount_micros: number;
  signature: string;
  paid_at: number;
}

export function chargeReceiptOf(row: SettlementRow): ChargeReceipt {
  return {
    v: 1,
    kind: "charge",
    attemptId: row.attempt_id,
    jobId: row.job_id,
    accountId: row.account_id,
    nodeId: row.node_id,
    outcome: row.outcome,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    gpus: row.gpus,
    gpuModel: row.gpu_model,
    pricePerGpuHourMicros: row.price_per_gpu_hour_micros,
    cpuHourMicros: row.cpu_hour_micros,
    billingMode: row.billing_mode,
    billableSeconds: row.billable_seconds,
    gpuSeconds: row.billable_seconds * row.gpus,
    chargedMicros: row.charged_micros,
    feeMicros: row.fee_micros,
    burnMicros: row.burn_micros,
    providerMicros: row.provider_micros,
    ...(row.usage_body ? { usage: SignedUsage.parse(JSON.parse(row.usage_body)) } : {}),
    ...(row.usage_body && row.usage_countersignature
      ? { countersignature: RegionCountersignature.parse(JSON.parse(row.usage_countersignature)) }
      : {}),
  };
}

interface RefundRow {
  attempt_id: string;
  job_id: string;
  account_id: string;
  node_id: string;
  cause: string;
  dispute_id: string | null;
  refunded_micros: number;
  from_provider_micros: number;
  from_fees_micros: number;
  from_burn_micros: number;
  unrecovered_micros: number;
  created_at: number;
}

function refundReceiptOf(row: RefundRow): RefundReceipt {
  return {
    v: 1,
    kind: "refund",
    attemptId: row.attempt_id,
    jobId: row.job_id,
    accountId: row.account_id,
    nodeId: row.node_id,
    cause: row.cause,
    disputeId: row.dispute_id,
    refundedMicros: row.refunded_micros,
    fromProviderMicros: row.from_provider_micros,
    fromFeesMicros: row.from_fees_micros,
    fromBurnMicros: row.from_burn_micros,
    unrecoveredMicros: row.unrecovered_micros,
    refundedAt: row.created_at,
  };
}

function payoutReceiptOf(row: PaidPayoutRow): PayoutReceipt {
  return {
    v: 1,
    kind: "payout",
    payoutId: row.id,
    accountId: row.account_id,
    nodeId: row.node_id,
    wallet: row.wallet,
    amountMicros: row.amount_micros,
    transaction: row.signature,
    paidAt: row.paid_at,
  };
}

interface StorageTransferRow {
  id: string;
  account_id: string;
  job_id: string | null;
  memo: string | null;
  amount_micros: number;
  created_at: number;
}

/** A storage charge's receipt, from its ledger transfer (checkpoint or output storage, per GB-month). */
export function storageReceiptOf(row: StorageTransferRow): StorageReceipt {
  return {
    v: 1,
    kind: "storage",
    transferId: row.id,
    accountId: row.account_id,
    jobId: row.job_id,
    what: (row.memo ?? "storage").slice(0, 200),
    chargedMicros: row.amount_micros,
    chargedAt: row.created_at,
  };
}

interface ReferralTransferRow {
  id: string;
  account_id: string;
  kind: string;
  request_hash: string | null;
  amount_micros: number;
  created_at: number;
}

/** A referral reward's receipt, or its reversal's, from its ledger transfer (the referrer's money). */
export function referralReceiptOf(row: ReferralTransferRow): ReferralReceipt {
  return {
    v: 1,
    kind: "referral",
    transferId: row.id,
    accountId: row.account_id,
    // The transfer's request hash is `referral:<code>` (src/ledger/referrals.ts).
    code: (row.request_hash ?? "").replace(/^referral:/, "").slice(0, 64),
    direction: row.kind === REFERRAL_REVERSAL_KIND ? "reversal" : "reward",
    amountMicros: row.amount_micros,
    at: row.created_at,
  };
}

/**
 * Signs a receipt for every settled attempt, every paid payout, every refund, every storage charge,
 * every referral reward and its reversal, and every node registration that has none yet, up to `limit` of each. Idempotent: the subject is unique, so a receipt minted twice (an alarm that fired twice)
 * is stored once. Returns how many were new.
 */
export async function mintReceipts(
  db: LedgerDb,
  signer: ReceiptSigner,
  now: number,
  limit = 2_000,
): Promise<number> {
  const settled = await db.all<SettlementRow>(sql`
    SELECT s.*, u.body AS usage_body, u.countersignature AS usage_countersignature FROM ledger_settlements AS s
    LEFT JOIN usage_signatures AS u ON u.attempt_id = s.attempt_id
    WHERE NOT EXISTS (SELECT 1 FROM receipts AS r WHERE r.subject_id = s.attempt_id)
    ORDER BY s.created_at, s.attempt_id LIMIT ${limit}`);
  const paid = await db.all<PaidPayoutRow>(sql`
    SELECT p.id, p.account_id, p.node_id, p.wallet, p.amount_micros, p.signature, p.paid_at FROM payouts AS p
    WHERE p.status = 'paid' AND p.signature IS NOT NULL AND p.paid_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM receipts AS r WHERE r.subject_id = p.id)
    ORDER BY p.paid_at, p.id LIMIT ${limit}`);
  const refunded = await db.all<RefundRow>(sql`
    SELECT f.* FROM attempt_refunds AS f
    WHERE NOT EXISTS (SELECT 1 FROM receipts AS r WHERE r.subject_id = 'rfd_' || substr(f.attempt_id, 5))
    ORDER BY f.created_at, f.attempt_id LIMIT ${limit}`);
  const stored = await db.all<StorageTransferRow>(sql`
    SELECT t.id, t.account_id, t.job_id, t.memo, t.amount_micros, t.created_at FROM ledger_transfers AS t
    WHERE t.kind = 'storage' AND t.account_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM receipts AS r WHERE r.subject_id = t.id)
    ORDER BY t.created_at, t.id LIMIT ${limit}`);
  const referred = await db.all<ReferralTransferRow>(sql`
    SELECT t.id, t.account_id, t.kind, t.request_hash, t.amount_micros, t.created_at FROM ledger_transfers AS t
    WHERE t.kind IN (${REFERRAL_KIND}, ${REFERRAL_REVERSAL_KIND}) AND t.account_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM receipts AS r WHERE r.subject_id = t.id)
    ORDER BY t.created_at, t.id LIMIT ${limit}`);
  const registered = await db.all<{ body: string; account_id: string | null }>(sql`
    SELECT g.body, o.account_id FROM node_registrations AS g
    LEFT JOIN node_owners AS o ON o.node_id = g.node_id
    WHERE NOT EXISTS (SELECT 1 FROM receipts AS r WHERE r.subject_id = g.id)
    ORDER BY g.created_at, g.id LIMIT ${limit}`);
  const all: { receipt: Receipt; accountId: string }[] = [
    ...[
      ...settled.map(chargeReceiptOf),
      ...paid.map(payoutReceiptOf),
      ...refunded.map(refundReceiptOf),
      ...stored.map(storageReceiptOf),
      ...referred.map(referralReceiptOf),
    ].map((receipt) => ({ receipt, accountId: receipt.accountId })),
    // A registration concerns its node's owner (none yet: only the operator's run sees it).
    ...registered.map((row) => ({
      receipt: RegistrationReceipt.parse(JSON.parse(row.body)),
      accountId: row.account_id ?? "",
    })),
  ];
  for (let i = 0; i < all.length; i += MINT_CHUNK) {
    const statements: LedgerStatement[] = [];
    for (const { receipt, accountId } of all.slice(i, i + MINT_CHUNK)) {
      const row = await signedRow(receipt, accountId, signer, now);
      statements.push(db.insert(receipts).values(row).onConflictDoNothing());
    }
    await runBatch(db, statements);
  }
  return all.length;
}

/** The row of a signed receipt (signing is async; the insert statement is built from it after). */
async function signedRow(
  receipt: Receipt,
  accountId: string,
  signer: ReceiptSigner,
  now: number,
): Promise<typeof receipts.$inferInsert> {
  const leaf = receiptLeaf(receipt);
  return {
    subjectId: receiptSubject(receipt),
    kind: receipt.kind,
    accountId,
    // A storage charge or a referral reward concerns no node: only its account may read it.
    nodeId: receipt.kind === "storage" || receipt.kind === "referral" ? "" : receipt.nodeId,
    body: JSON.stringify(receipt),
    leafHash: leaf,
    signature: await signReceiptLeaf(leaf, signer.seed),
    signer: signer.address,
    createdAt: now,
  };
}
