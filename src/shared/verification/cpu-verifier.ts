import { fromBase64 } from "./bytes.js";
import { entryOfRow, ulpAt } from "./canonical-value.js";
import { leafDigest, merkleDepth, verifyMerkleProof } from "./merkle.js";
import type { JudgementReason, VerificationAnswer, VerificationChallenge } from "./messages.js";
import { digestAt, digestKeys, rowDigest } from "./row-digest.js";
import { exactEntry, matrixKeys, rowOfA } from "./seeded-matrix.js";
import type { SpotCheckPlan } from "./spot-check.js";

export interface OpeningCheck {
  /** Empty when every opening is bound to the root and every checked entry is right. */
  failures: JudgementReason[];
  checkedEntries: number;
}

/**
 * Checks the agent's openings on the CPU: each requested row is present; its digest (recomputed,
 * O(n)) is the one in its block's digest vector; the vector hashes to a leaf that the proof ties
 * to the committed root; and the row holds the right value at every planned column (recomputed
 * exactly, O(n) each). Cost: leaves · (2 + 2·columns) · n hash32 evaluations and a SHA-256 of
 * 4n bytes each — tens of milliseconds at n = 16384 (bench:verify).
 */
export async function checkOpenings(
  challenge: VerificationChallenge,
  seed: string,
  root: string,
  plan: SpotCheckPlan,
  answer: VerificationAnswer,
): Promise<OpeningCheck> {
  const failures: JudgementReason[] = [];
  const { n } = challenge;
  const keys = matrixKeys(seed, challenge.dtype);
  const key = digestKeys(keys, n);
  const byLeaf = new Map(answer.openings.map((opening) => [opening.leaf, opening]));
  const depth = merkleDepth(challenge.blocks);
  let checkedEntries = 0;
  for (const [index, leaf] of plan.leaves.entries()) {
    const opening = byLeaf.get(leaf);
    if (opening === undefined) {
      failures.push({ code: "missing_opening", message: `row ${leaf} was asked for and not opened` });
      continue;
    }
    const row = fromBase64(opening.row);
    const digests = fromBase64(opening.digests);
    if (row?.length !== 2 * n || digests?.length !== 4 * n) {
      failures.push({
        code: "malformed_row",
        message: `row ${leaf} is not ${n} ${challenge.dtype} values with ${n} block digests`,
      });
      continue;
    }
    const block = Math.floor(leaf / n);
    const rowIndex = leaf % n;
    if (rowDigest(row, key) !== digestAt(digests, rowIndex)) {
      failures.push({
        code: "digest_mismatch",
        message: `row ${leaf} does not have the digest its block's vector commits to`,
      });
      continue;
    }
    if (
      opening.proof.length !== depth ||
      !(await verifyMerkleProof(root, await leafDigest(digests), block, opening.proof))
    ) {
      failures.push({
        code: "proof_mismatch",
        message: `row ${leaf}'s block is not the block committed to: its proof does not lead to the committed root`,
      });
      continue;
    }
    const aRow = rowOfA(keys, n, rowIndex);
    for (const column of plan.columns[index] ?? []) {
      const exact = exactEntry(keys, n, aRow, block, column);
      const committed = entryOfRow(row, column, challenge.dtype);
      if (!(Math.abs(committed - exact) <= ulpAt(exact, challenge.dtype))) {
        failures.push({
          code: "wrong_entry",
          message: `C[${block}][${rowIndex}][${column}] is ${committed}, the product gives ${exact}`,
        });
        break;
      }
      checkedEntries++;
    }
  }
  return { failures, checkedEntries };
}
