import type { ChargeReceipt } from "./receipt.js";
import type { ReceiptCheck } from "./receipt-view.js";
import { countersignatureProblem } from "./region-countersignature.js";

/**
 * The region's half of a charge receipt: its countersignature over the agent's statement and its
 * own times for the attempt, by the key it names, and (when the caller has the region's published
 * key, GET /v1/regions/:id) that key is the region's. A receipt from before regions countersigned
 * holds without one, and says so.
 */
export async function regionCheck(receipt: ChargeReceipt, expectedKey?: string): Promise<ReceiptCheck> {
  const { usage, countersignature } = receipt;
  if (!countersignature) {
    return {
      name: "region",
      ok: true,
      detail: usage
        ? "no region countersignature (the statement was kept before regions countersigned, or by a region with no key)"
        : "no region countersignature (there is no usage statement to countersign)",
    };
  }
  if (!usage)
    return { name: "region", ok: false, detail: "a region countersignature with no usage statement" };
  const problem = await countersignatureProblem(usage, countersignature);
  if (problem) return { name: "region", ok: false, detail: problem };
  const { region, regionKey, startedAt, endedAt } = countersignature;
  if (expectedKey !== undefined && expectedKey !== regionKey)
    return {
      name: "region",
      ok: false,
      detail: `signed by ${regionKey}, not region ${region}'s key ${expectedKey}`,
    };
  const seen =
    startedAt === null
      ? `it never saw the attempt start; it ended at ${new Date(endedAt).toISOString()}`
      : `it saw the attempt run ${Math.round((endedAt - startedAt) / 1000)} s, from ${new Date(startedAt).toISOString()}`;
  return {
    name: "region",
    ok: true,
    detail: `ed25519 by region ${region}'s key ${regionKey} ${expectedKey === undefined ? "(not compared with its published key)" : "(its published key)"}: ${seen}`,
  };
}
