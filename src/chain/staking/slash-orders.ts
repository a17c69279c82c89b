import { and, asc, eq } from "drizzle-orm";
import { type SlashOrderRow, slashOrders, stakeTransfers } from "../../../schema/staking.js";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import { MeridianError } from "../../shared/errors.js";
import type { VerificationJudgement } from "../../shared/verification/messages.js";
import { sha256Hex, type VerificationRecord, verificationEvidence } from "./slash-evidence.js";
import { slashStake } from "./stake-book.js";

/** A slash the Region object orders through its outbox when it rejects a node's verification. */
export interface OrderedSlash {
  evidence: string;
  nodeId: string;
  reason: string;
  /** The node's verification after the rejection, as JSON: the evidence the slash links. */
  record: string;
  at: number;
}

/** Reasons that only say the node did not answer in time: absence, not proof of a lie. */
const NOT_PROOF = new Set(["deadline_missed"]);

/**
 * The slash a judgement orders, or null: only a rejection that leaves the node's verification
 * rejected, for a reason that shows a lie (a wrong digest, an opening that does not verify, figures
 * off the part), not one that only missed a deadline (a node that was down is not a cheat).
 */
export function slashOrderFor(
  judgement: VerificationJudgement,
  status: VerificationRecord | undefined,
  at: number,
): OrderedSlash | null {
  if (judgement.outcome !== "rejected" || status?.outcome !== "rejected") return null;
  const proof = [...new Set(judgement.reasons.map((r) => r.code))].filter((code) => !NOT_PROOF.has(code));
  if (proof.length === 0) return null;
  return {
    evidence: verificationEvidence(judgement.nodeId, status.lastVerifiedAt),
    nodeId: judgement.nodeId,
    reason: `verification ${judgement.challengeId} rejected: ${proof.join(", ")}`,
    record: JSON.stringify(status),
    at,
  };
}

/** The outbox's statement for an order: inserted once, however often the flush runs. */
export function slashOrderStatement(db: LedgerDb, order: OrderedSlash) {
  return db
    .insert(slashOrders)
    .values({
      evidence: order.evidence,
      nodeId: order.nodeId,
      reason: order.reason,
      record: order.record,
      createdAt: order.at,
    })
    .onConflictDoNothing();
}

export interface SettledSlashes {
  /** Nodes slashed by this run (their tier may have dropped). */
  slashed: string[];
  /** Orders for nodes with nothing at stake: closed without a slash. */
  nothingToSlash: number;
}

/**
 * Carries out the open orders, oldest first: each slashes `shareBps` of the node's stake into a
 * transfer to the treasury linked to the order's evidence, exactly once (the transfer's evidence
 * is unique: a run that crashed after the slash finds it and only closes the order). A node with
 * nothing at stake is not slashed, and its order closes as `nothing_to_slash`.
 */
export async function settleSlashOrders(
  db: LedgerDb,
  input: { shareBps: number; treasury: string; now: number },
): Promise<SettledSlashes> {
  const open = await db
    .select()
    .from(slashOrders)
    .where(eq(slashOrders.state, "open"))
    .orderBy(asc(slashOrders.createdAt))
    .limit(50)
    .all();
  const out: SettledSlashes = { slashed: [], nothingToSlash: 0 };
  for (const order of open) {
    const transferId = await slashOnce(db, order, input);
    await db
      .update(slashOrders)
      .set({ state: transferId ? "slashed" : "nothing_to_slash", transferId, doneAt: input.now })
      .where(and(eq(slashOrders.evidence, order.evidence), eq(slashOrders.state, "open")));
    if (transferId) out.slashed.push(order.nodeId);
    else out.nothingToSlash++;
  }
  return out;
}

/** The order's slash transfer id (new, or the one an earlier run made); null: nothing at stake. */
async function slashOnce(
  db: LedgerDb,
  order: SlashOrderRow,
  input: { shareBps: number; treasury: string; now: number },
): Promise<string | null> {
  try {
    const transfer = await slashStake(db, {
      nodeId: order.nodeId,
      shareBps: input.shareBps,
      evidence: order.evidence,
      evidenceHash: await sha256Hex(JSON.parse(order.record)),
      reason: order.reason,
      treasury: input.treasury,
      now: input.now,
    });
    return transfer.id;
  } catch (error) {
    if (!(error instanceof MeridianError)) throw error;
    if (error.code === "nothing_to_slash") return null;
    if (error.code !== "already_slashed") throw error;
    const earlier = await db
      .select({ id: stakeTransfers.id })
      .from(stakeTransfers)
      .where(eq(stakeTransfers.evidence, order.evidence))
      .get();
    if (!earlier) throw error;
    return earlier.id;
  }
}
