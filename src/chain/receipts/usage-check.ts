import { SignedUsage, usageProblem } from "../../shared/receipts/usage-statement.js";

/**
 * The agent's usage statement if it holds: signed by this node's registered key (so by the node the
 * statement names). Anything else is logged and dropped; it never refuses the report it came with.
 */
export async function verifiedUsage(usage: unknown, nodeKey: string): Promise<SignedUsage | null> {
  if (usage === undefined) return null;
  const parsed = SignedUsage.safeParse(usage);
  const problem = !parsed.success
    ? "malformed"
    : parsed.data.nodeKey !== nodeKey
      ? "signed with a key other than the node's"
      : await usageProblem(parsed.data);
  if (problem === null && parsed.success) return parsed.data;
  console.warn(JSON.stringify({ msg: "usage statement dropped", problem }));
  return null;
}
