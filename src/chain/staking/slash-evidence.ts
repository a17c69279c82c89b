import { and, eq } from "drizzle-orm";
import { chargeDisputes } from "../../../schema/disputes.js";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import { MeridianError } from "../../shared/errors.js";

/** What a slash points at: a stable name for the evidence and the SHA-256 of the record it names. */
export interface SlashEvidence {
  evidence: string;
  evidenceHash: string;
  record: unknown;
}

/** The node's verification as the region reports it (GET /v1/provider/nodes/:id's `verification`). */
export interface VerificationRecord {
  outcome: string;
  lastVerifiedAt: number | null;
}

export async function sha256Hex(value: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A rejected verification's evidence name: one slash per rejection since the node last verified,
 * whether the region ordered it or an operator asked (both name it the same, so only one lands).
 */
export function verificationEvidence(nodeId: string, lastVerifiedAt: number | null): string {
  return `verification:${nodeId}:${lastVerifiedAt ?? "unanswered"}`;
}

function notProven(message: string): MeridianError {
  return new MeridianError(422, "evidence_not_proven", message);
}

/**
 * Checks that the evidence proves this node misbehaved before anything is slashed: a charge
 * dispute on one of its attempts that was decided for the user (refunded), or its verification as
 * it stands now, rejected. Anything else is a 422 and nothing is slashed.
 */
export async function slashEvidence(
  db: LedgerDb,
  input: {
    nodeId: string;
    evidence: string;
    verificationOf: (nodeId: string) => Promise<VerificationRecord | null>;
  },
): Promise<SlashEvidence> {
  if (input.evidence === "verification") {
    const record = await input.verificationOf(input.nodeId);
    if (record?.outcome !== "rejected" || !record)
      throw notProven(`node ${input.nodeId}'s verification is ${record?.outcome ?? "absent"}, not rejected`);
    return {
      evidence: verificationEvidence(input.nodeId, record.lastVerifiedAt),
      evidenceHash: await sha256Hex(record),
      record,
    };
  }
  const disputeId = input.evidence.slice("dispute:".length);
  const dispute = await db
    .select()
    .from(chargeDisputes)
    .where(and(eq(chargeDisputes.id, disputeId), eq(chargeDisputes.nodeId, input.nodeId)))
    .get();
  if (!dispute) throw notProven(`no dispute ${disputeId} of an attempt on node ${input.nodeId}`);
  if (dispute.state !== "refunded")
    throw notProven(
      `dispute ${disputeId} is ${dispute.state}: only a dispute the provider lost proves anything`,
    );
  return { evidence: `dispute:${disputeId}`, evidenceHash: await sha256Hex(dispute), record: dispute };
}
