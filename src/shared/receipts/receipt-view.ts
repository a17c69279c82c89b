import { z } from "zod";
import { type ProofStep, rootFromProof } from "./merkle.js";
import { type ChargeReceipt, Receipt, receiptLeaf, verifyReceiptSignature } from "./receipt.js";
import { regionCheck } from "./region-check.js";
import { usageProblem } from "./usage-statement.js";

const Hex32 = z.string().regex(/^[0-9a-f]{64}$/, "a 32-byte hash in lowercase hex");
const Base58 = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,88}$/, "base58");

export const ProofStepSchema = z.union([
  z.object({ left: Hex32 }).strict(),
  z.object({ right: Hex32 }).strict(),
]) satisfies z.ZodType<ProofStep>;

/** GET /v1/receipts/:id: the receipt, its signature, its place in a batch and the batch's anchor. */
export const ReceiptView = z.object({
  id: z.string(),
  /** signed: not batched yet; batched: in a tree whose root is not on chain yet; anchored: on chain. */
  status: z.enum(["signed", "batched", "anchored"]),
  receipt: Receipt,
  leafHash: Hex32,
  signature: Base58,
  /** The control plane's key (the treasury's): it also signs the anchoring transaction. */
  signer: Base58,
  proof: z
    .object({
      batchId: z.string(),
      index: z.number().int().min(0),
      leaves: z.number().int().min(1),
      root: Hex32,
      steps: z.array(ProofStepSchema),
    })
    .nullable(),
  anchor: z
    .object({
      cluster: z.string(),
      transaction: Base58,
      slot: z.number().int(),
      memo: z.string(),
      anchoredAt: z.string(),
    })
    .nullable(),
});
export type ReceiptView = z.infer<typeof ReceiptView>;

export const ReceiptIdParam = z.object({
  id: z
    .string()
    .regex(
      /^(att|pay|rfd|nrg|node|tx)_[0-9a-hjkmnp-tv-z]{26}$/,
      "a receipt's subject: an attempt id (att_…), a payout id (pay_…), a refund's (rfd_…), a node registration's (nrg_…), a node id (its latest registration), or the ledger transfer (tx_…) of a storage charge or a referral reward or its reversal",
    ),
});

/** The memo an anchoring transaction carries: the batch, its root and its size. */
export function anchorMemo(batchId: string, root: string, leaves: number): string {
  return `meridian-receipts-v1 ${batchId} ${root} ${leaves}`;
}

export interface ReceiptCheck {
  name: "leaf" | "signature" | "signer" | "agent" | "region" | "proof" | "memo" | "chain";
  ok: boolean;
  detail: string;
}

/**
 * Everything about a receipt that can be checked without the chain: its leaf hash recomputed from
 * its fields, the signature over that leaf, the signer (when the caller knows whose key it must
 * be), on a charge the agent's and the region's signatures (the region's key checked against the
 * one the region publishes, when the caller gives it), the Merkle proof folded up to the batch's
 * root, and the memo the anchor should carry.
 */
export async function checkReceiptOffline(
  view: ReceiptView,
  expectedSigner?: string,
  expectedRegionKey?: string,
): Promise<ReceiptCheck[]> {
  const checks: ReceiptCheck[] = [];
  const leaf = receiptLeaf(view.receipt);
  checks.push({
    name: "leaf",
    ok: leaf === view.leafHash,
    detail: leaf === view.leafHash ? `leaf ${leaf}` : `the fields hash to ${leaf}, not ${view.leafHash}`,
  });
  const signed = await verifyReceiptSignature(leaf, view.signature, view.signer);
  checks.push({
    name: "signature",
    ok: signed,
    detail: signed ? `ed25519 by ${view.signer}` : `the signature is not ${view.signer}'s over this receipt`,
  });
  if (expectedSigner !== undefined) {
    checks.push({
      name: "signer",
      ok: expectedSigner === view.signer,
      detail:
        expectedSigner === view.signer
          ? "the expected key"
          : `signed by ${view.signer}, expected ${expectedSigner}`,
    });
  }
  if (view.receipt.kind === "charge") {
    checks.push(await agentCheck(view.receipt));
    checks.push(await regionCheck(view.receipt, expectedRegionKey));
  }
  if (view.proof) {
    const root = rootFromProof(leaf, view.proof.steps);
    checks.push({
      name: "proof",
      ok: root === view.proof.root,
      detail:
        root === view.proof.root
          ? `leaf ${view.proof.index} of ${view.proof.leaves} folds to root ${root} in ${view.proof.steps.length} steps`
          : `the proof folds to ${root}, not the batch root ${view.proof.root}`,
    });
    if (view.anchor) {
      const memo = anchorMemo(view.proof.batchId, view.proof.root, view.proof.leaves);
      checks.push({
        name: "memo",
        ok: memo === view.anchor.memo,
        detail:
          memo === view.anchor.memo
            ? "the anchor names this root"
            : `the anchor's memo is "${view.anchor.memo}"`,
      });
    }
  }
  return checks;
}

/**
 * The agent's half of a charge receipt: its usage statement signed by the node key (the key the
 * node id is derived from), about this very attempt. The control plane's signature, checked
 * above, covers the statement too; the region's countersignature is checked on its own.
 */
async function agentCheck(receipt: ChargeReceipt): Promise<ReceiptCheck> {
  const usage = receipt.usage;
  if (!usage)
    return { name: "agent", ok: true, detail: "no agent signature (the agent sent no usage statement)" };
  const s = usage.statement;
  const problem =
    s.attemptId !== receipt.attemptId || s.jobId !== receipt.jobId || s.nodeId !== receipt.nodeId
      ? `the agent's statement is about ${s.attemptId} of ${s.jobId} on ${s.nodeId}, not this attempt`
      : await usageProblem(usage);
  return {
    name: "agent",
    ok: problem === null,
    detail:
      problem ??
      `ed25519 by node ${s.nodeId}'s key ${usage.nodeKey}: ${s.cpuHourMicros === undefined ? `${s.gpuSeconds} GPU-seconds` : `CPU-only at ${s.cpuHourMicros} µUSD an hour`}, ${s.amountMicros} µUSD at its price`,
  };
}

/** POST /v1/operator/receipts/run: what the run did. */
export const ReceiptRunView = z.object({
  at: z.string(),
  minted: z.number().int(),
  batches: z.number().int(),
  anchored: z.number().int(),
  pending: z.number().int(),
  resigned: z.number().int(),
});
export type ReceiptRunView = z.infer<typeof ReceiptRunView>;
