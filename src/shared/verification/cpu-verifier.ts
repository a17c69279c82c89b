import { fromBase64 } from "./bytes.js";
import { entryOfRow, ulpAt } from "./canonical-value.js";
import { leafDigest, verifyMerkleProof } from "./merkle.js";
import type { JudgementReason, VerificationAnswer, VerificationChallenge } from "./messages.js";
import { exactEntry, matrixKeys, rowOfA } from "./seeded-matrix.js";
import type { SpotCheckPlan } from "./spot-check.js";

export interface OpeningCheck {
  /** Empty when every opening is bound to the root and every checked entry is right. */
  failures: JudgementReason[];
  checkedEntries: number;
}

/**
 * Checks the agent's openings on the CPU: each requested row is present, hashes to a leaf that the
 * proof ties to the committed root, and holds the right value at every planned column (recomputed
 * exactly, O(n) each). Cost: leaves · (1 + columns) · 2n hash evaluations, a few SHA-256 — tens of
 * milliseconds at n = 16384 (bench:verify).
 */
export async function checkOpenings(
  challenge: VerificationChallenge,
  root: string,
  plan: SpotCheckPlan,
  answer: VerificationAnswer,
): Promise<OpeningCheck> {
  const failures: JudgementReason[] = [];
  const keys = matrixKeys(challenge.seed);
  const byLeaf = new Map(answer.openings.map((opening) => [opening.leaf, opening]));
  const depth = Math.log2(challenge.n * challenge.blocks);
  let checkedEntries = 0;
  for (const [index, leaf] of plan.leaves.entries()) {
    const opening = byLeaf.get(leaf);
    if (opening === undefined) {
      failures.push({ code: "missing_opening", message: `row ${leaf} was asked for and not opened` });
      continue;
    }
    const row = fromBase64(opening.row);
    if (row?.length !== 2 * challenge.n) {
      failures.push({
        code: "malformed_row",
        message: `row ${leaf} is not ${challenge.n} ${challenge.dtype} values`,
      });
      continue;
    }
    if (
      opening.proof.length !== depth ||
      !(await verifyMerkleProof(root, await leafDigest(row), leaf, opening.proof))
    ) {
      failures.push({
        code: "proof_mismatch",
        message: `row ${leaf} is not the row committed to: its proof does not lead to the committed root`,
      });
      continue;
    }
    const block = Math.floor(leaf / challenge.n);
    const aRow = rowOfA(keys, challenge.n, leaf % challenge.n);
    for (const column of plan.columns[index] ?? []) {
      const exact = exactEntry(keys, challenge.n, aRow, block, column);
      const committed = entryOfRow(row, column, challenge.dtype);
      if (!(Math.abs(committed - exact) <= ulpAt(exact, challenge.dtype))) {
        failures.push({
          code: "wrong_entry",
          message: `C[${block}][${leaf % challenge.n}][${column}] is ${committed}, the product gives ${exact}`,
        });
        break;
      }
      checkedEntries++;
    }
  }
  return { failures, checkedEntries };
}
