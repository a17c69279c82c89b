import * as ed from "@noble/ed25519";
import { z } from "zod";
import { decodeBase58, encodeBase58 } from "../base58.js";
import { canonicalJson } from "./canonical-json.js";
import { leafHash } from "./merkle.js";
import { RegionCountersignature } from "./region-countersignature.js";
import { SignedUsage } from "./usage-statement.js";

export { canonicalJson };

/**
 * A receipt: what one settled attempt charged (and paid its provider), or what one payout sent to a
 * provider's wallet. Money is integer µUSD, times are ms since the epoch. Its canonical form — the
 * fields as JSON with keys in sorted order and no spaces — is what is hashed into the Merkle tree
 * and signed, so anyone holding the receipt can recompute both.
 */
const Micros = z.number().int().min(0);
const Ms = z.number().int().min(0);

export const ChargeReceipt = z
  .object({
    v: z.literal(1),
    kind: z.literal("charge"),
    attemptId: z.string().min(1).max(64),
    jobId: z.string().min(1).max(64),
    accountId: z.string().min(1).max(64),
    nodeId: z.string().min(1).max(64),
    outcome: z.string().min(1).max(32),
    startedAt: Ms.nullable(),
    endedAt: Ms,
    gpus: z.number().int().min(0),
    gpuModel: z.string().max(64).nullable(),
    pricePerGpuHourMicros: Micros,
    cpuHourMicros: Micros,
    billingMode: z.string().min(1).max(32),
    billableSeconds: z.number().int().min(0),
    /** GPU-seconds billed: billable seconds × GPUs. */
    gpuSeconds: z.number().int().min(0),
    chargedMicros: Micros,
    feeMicros: Micros,
    burnMicros: Micros,
    providerMicros: Micros,
    /**
     * The agent's own statement of the attempt's usage, signed with its node key (absent when the
     * agent sent none: an agent older than usage statements, or an attempt it never ended itself).
     */
    usage: SignedUsage.optional(),
    /**
     * The region's countersignature on that statement, with its own times for the attempt, by its
     * key (absent with no statement, and on receipts from before regions countersigned).
     */
    countersignature: RegionCountersignature.optional(),
  })
  .strict();
export type ChargeReceipt = z.infer<typeof ChargeReceipt>;

export const PayoutReceipt = z
  .object({
    v: z.literal(1),
    kind: z.literal("payout"),
    payoutId: z.string().min(1).max(64),
    accountId: z.string().min(1).max(64),
    nodeId: z.string().min(1).max(64),
    wallet: z.string().min(32).max(44),
    amountMicros: Micros,
    /** The transfer's transaction signature on chain. */
    transaction: z.string().min(64).max(88),
    paidAt: Ms,
  })
  .strict();
export type PayoutReceipt = z.infer<typeof PayoutReceipt>;

/** What a refund (a dispute decided for the user, a fault refund) gave back of one attempt's charge. */
export const RefundReceipt = z
  .object({
    v: z.literal(1),
    kind: z.literal("refund"),
    attemptId: z.string().min(1).max(64),
    jobId: z.string().min(1).max(64),
    accountId: z.string().min(1).max(64),
    nodeId: z.string().min(1).max(64),
    /** Why: the operator's decision on a dispute, or a fault the sweep blamed on the node. */
    cause: z.string().min(1).max(32),
    disputeId: z.string().max(64).nullable(),
    refundedMicros: Micros,
    fromProviderMicros: Micros,
    fromFeesMicros: Micros,
    fromBurnMicros: Micros,
    unrecoveredMicros: Micros,
    refundedAt: Ms,
  })
  .strict();
export type RefundReceipt = z.infer<typeof RefundReceipt>;

/**
 * A node's registration as the region recorded it: its key (from which its id derives), its GPUs,
 * the dense TFLOP/s its verification measured (null until it passed one), and when. One is
 * recorded at each registration and at each passed verification.
 */
export const RegistrationReceipt = z
  .object({
    v: z.literal(1),
    kind: z.literal("registration"),
    registrationId: z.string().min(1).max(64),
    nodeId: z.string().min(1).max(64),
    nodeKey: z.string().min(32).max(44),
    region: z.string().min(1).max(64),
    gpus: z.array(
      z
        .object({
          uuid: z.string().max(128),
          model: z.string().max(64).nullable(),
          vramMib: z.number().int(),
        })
        .strict(),
    ),
    verifiedTflops: z.number().nullable(),
    registeredAt: Ms,
    at: Ms,
  })
  .strict();
export type RegistrationReceipt = z.infer<typeof RegistrationReceipt>;

/**
 * A storage charge (a checkpoint or job output kept in the platform's object storage, per
 * GB-month): what was kept for how long (the ledger memo's words), for which job, and what it cost.
 * No node is involved: the bytes are the platform's to keep.
 */
export const StorageReceipt = z
  .object({
    v: z.literal(1),
    kind: z.literal("storage"),
    /** The ledger transfer that charged it (`tx_…`): the receipt's id. */
    transferId: z.string().min(1).max(64),
    accountId: z.string().min(1).max(64),
    jobId: z.string().max(64).nullable(),
    what: z.string().max(200),
    chargedMicros: Micros,
    chargedAt: Ms,
  })
  .strict();
export type StorageReceipt = z.infer<typeof StorageReceipt>;

/**
 * A referral reward (the referrer's share of what the platform kept of a referred account's fee on
 * one settled attempt) paid into the referrer's balance, or its reversal out of that balance when
 * the attempt's charge was refunded. It names the referral code, never the referred account, its
 * job or its attempt: the referrer sees only its own money move.
 */
export const ReferralReceipt = z
  .object({
    v: z.literal(1),
    kind: z.literal("referral"),
    /** The ledger transfer that moved it (`tx_…`): the receipt's id. */
    transferId: z.string().min(1).max(64),
    /** The referrer's account. */
    accountId: z.string().min(1).max(64),
    code: z.string().max(64),
    direction: z.enum(["reward", "reversal"]),
    amountMicros: Micros,
    at: Ms,
  })
  .strict();
export type ReferralReceipt = z.infer<typeof ReferralReceipt>;

export const Receipt = z.discriminatedUnion("kind", [
  ChargeReceipt,
  PayoutReceipt,
  RefundReceipt,
  RegistrationReceipt,
  StorageReceipt,
  ReferralReceipt,
]);
export type Receipt = z.infer<typeof Receipt>;

/** The receipt's subject: what `GET /v1/receipts/:id` is asked with. */
export function receiptSubject(receipt: Receipt): string {
  if (receipt.kind === "charge") return receipt.attemptId;
  if (receipt.kind === "refund") return refundSubject(receipt.attemptId);
  if (receipt.kind === "registration") return receipt.registrationId;
  if (receipt.kind === "storage" || receipt.kind === "referral") return receipt.transferId;
  return receipt.payoutId;
}

/** A refund receipt's id: its attempt's, `rfd_` for `att_` (an attempt is refunded at most once). */
export function refundSubject(attemptId: string): string {
  return `rfd_${attemptId.slice("att_".length)}`;
}

export function receiptBytes(receipt: Receipt): Uint8Array {
  return new TextEncoder().encode(canonicalJson(receipt));
}

export function receiptLeaf(receipt: Receipt): string {
  return leafHash(receiptBytes(receipt));
}

/** What the control plane signs: its leaf hash under a domain tag, so the signature means nothing else. */
export function signingMessage(leaf: string): Uint8Array {
  return new TextEncoder().encode(`meridian-receipt-v1:${leaf}`);
}

/** Signs a receipt's leaf with a 32-byte ed25519 secret key; the signature is base58. */
export async function signReceiptLeaf(leaf: string, secretKey: Uint8Array): Promise<string> {
  return encodeBase58(await ed.signAsync(signingMessage(leaf), secretKey));
}

/** Whether `signature` (base58) is `signer`'s (a base58 public key) over the leaf. */
export async function verifyReceiptSignature(
  leaf: string,
  signature: string,
  signer: string,
): Promise<boolean> {
  const sig = decodeBase58(signature);
  const key = decodeBase58(signer);
  if (sig?.length !== 64 || key?.length !== 32) return false;
  try {
    return await ed.verifyAsync(sig, signingMessage(leaf), key);
  } catch {
    return false;
  }
}
