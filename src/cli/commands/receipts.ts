import { readFile } from "node:fs/promises";
import { checkAnchorOnChain } from "../../shared/receipts/anchor-check.js";
import { checkReceiptOffline, ReceiptIdParam, ReceiptView } from "../../shared/receipts/receipt-view.js";
import { CliError } from "../cli-error.js";
import type { Command, CommandContext } from "../command.js";
import { printResult } from "../command.js";
import { formatKeyValues } from "../table.js";

/** A receipt by its id from the API, or from a file saved with `meridian receipts get --json`. */
async function loadReceipt(context: CommandContext, idOrFile: string): Promise<ReceiptView> {
  if (ReceiptIdParam.safeParse({ id: idOrFile }).success)
    return (await context.client.getReceipt(idOrFile)).data;
  let text: string;
  try {
    text = await readFile(idOrFile, "utf8");
  } catch {
    throw new CliError(
      "not_found",
      `"${idOrFile}" is neither a receipt id (att_…, pay_…, rfd_…) nor a readable file`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError("invalid_receipt", `${idOrFile} is not JSON`);
  }
  const parsed = ReceiptView.safeParse(json);
  if (!parsed.success) {
    throw new CliError(
      "invalid_receipt",
      `${idOrFile} is not a receipt: ${parsed.error.issues[0]?.message ?? ""}`,
    );
  }
  return parsed.data;
}

const getCommand: Command = {
  words: ["receipts", "get"],
  summary: "show a receipt with its Merkle proof and anchor",
  usage: `Usage: meridian receipts get <attempt-id|payout-id|refund-id> [--json]

Shows the control plane's signed receipt of a settled attempt, a paid payout or a refund (rfd_…,
the attempt's id with rfd_ for att_). --json prints it
as served: save that to a file to verify it later, offline or against the chain.
`,
  options: [],
  arity: [1, 1],
  async run(context) {
    const [id = ""] = context.args;
    const { data, raw } = await context.client.getReceipt(id);
    printResult(context, raw, () => {
      const r = data.receipt;
      const money =
        r.kind === "charge"
          ? [
              ["job", r.jobId],
              ["charged µUSD", String(r.chargedMicros)],
              ["provider µUSD", String(r.providerMicros)],
              ["billable s", String(r.billableSeconds)],
              [
                "region",
                r.countersignature
                  ? `${r.countersignature.region}, countersigned by ${r.countersignature.regionKey}`
                  : "—",
              ],
            ]
          : r.kind === "registration"
            ? [
                ["node", `${r.nodeId} (key ${r.nodeKey})`],
                ["gpus", String(r.gpus.length)],
                ["verified TFLOP/s", r.verifiedTflops === null ? "—" : String(r.verifiedTflops)],
              ]
            : r.kind === "storage"
              ? [
                  ["job", r.jobId ?? "—"],
                  ["charged µUSD", String(r.chargedMicros)],
                  ["for", r.what],
                ]
              : r.kind === "referral"
                ? [
                    ["code", r.code],
                    [r.direction === "reward" ? "rewarded µUSD" : "given back µUSD", String(r.amountMicros)],
                  ]
                : r.kind === "refund"
                  ? [
                      ["job", r.jobId],
                      ["refunded µUSD", String(r.refundedMicros)],
                      ["cause", r.disputeId ? `${r.cause} (${r.disputeId})` : r.cause],
                    ]
                  : [
                      ["wallet", r.wallet],
                      ["paid µUSD", String(r.amountMicros)],
                      ["transfer", r.transaction],
                    ];
      return formatKeyValues([
        ["receipt", `${data.id} (${r.kind})`],
        ["status", data.status],
        ...(money as [string, string][]),
        ["signer", data.signer],
        [
          "batch",
          data.proof ? `${data.proof.batchId}, leaf ${data.proof.index} of ${data.proof.leaves}` : "—",
        ],
        ["anchor", data.anchor ? `${data.anchor.transaction} (slot ${data.anchor.slot})` : "—"],
      ]);
    });
  },
};

/**
 * The key a charge receipt's region countersignature must be by: --region-key, else the one its
 * region publishes (GET /v1/regions/:id). Unreadable, the check runs on the receipt's own key, and
 * the note says it was not compared.
 */
async function expectedRegionKey(
  context: CommandContext,
  view: ReceiptView,
): Promise<{ key?: string; note?: string }> {
  const region = view.receipt.kind === "charge" ? view.receipt.countersignature?.region : undefined;
  if (region === undefined) return {};
  const given = context.values["region-key"];
  if (given !== undefined) return { key: given };
  try {
    const key = (await context.client.getRegion(region)).data.signingKey;
    if (key !== null) return { key };
    return { note: `(region ${region} publishes no signing key: give --region-key <key> to check it)` };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return {
      note: `(region ${region}'s published key could not be read: ${why}; give --region-key <key> to check it)`,
    };
  }
}

const verifyCommand: Command = {
  words: ["receipts", "verify"],
  summary: "check a receipt's signature, Merkle proof and on-chain anchor",
  usage: `Usage: meridian receipts verify <attempt-id|payout-id|refund-id|file> [--rpc <url>] [--signer <address>] [--region-key <key>]

Recomputes the receipt's leaf hash from its fields, checks the ed25519 signature over it and, on a
charge receipt, the agent's own signature over its usage statement (by the key its node id names)
and the region's countersignature over that statement and the region's own times (by the key the
region publishes at GET /v1/regions/:id, or --region-key), folds its Merkle proof up to the batch
root and checks the anchor's memo names that root — all offline but the region's key.
With --rpc (a Solana JSON-RPC URL) it also reads the anchoring transaction from the chain and
checks it landed, carries that memo and was signed by the receipt's signer. --signer requires the
receipt to be signed by that key (the control plane's treasury address). Exits 1 on any failure.
`,
  options: ["rpc", "signer", "region-key"],
  arity: [1, 1],
  async run(context) {
    const [idOrFile = ""] = context.args;
    const view = await loadReceipt(context, idOrFile);
    const regionKey = await expectedRegionKey(context, view);
    const checks = await checkReceiptOffline(view, context.values.signer, regionKey.key);
    const rpc = context.values.rpc;
    if (rpc !== undefined) checks.push(await checkAnchorOnChain(view, rpc, context.io.fetch));
    const failed = checks.filter((check) => !check.ok);
    const incomplete = !view.anchor
      ? `not anchored yet (${view.status}): the batch's root is not on chain`
      : null;
    if (context.values.json) {
      context.io.stdout(
        `${JSON.stringify({ id: view.id, ok: failed.length === 0 && !incomplete, checks }, null, 2)}\n`,
      );
    } else {
      for (const check of checks)
        context.io.stdout(`${check.ok ? "ok  " : "FAIL"} ${check.name}: ${check.detail}\n`);
      if (regionKey.note) context.io.stdout(`${regionKey.note}\n`);
      if (rpc === undefined && view.anchor)
        context.io.stdout("(the chain was not asked: give --rpc <url> to check the anchor)\n");
    }
    if (failed.length > 0) {
      throw new CliError(
        "receipt_invalid",
        `${view.id}: ${failed.map((check) => check.name).join(", ")} failed`,
      );
    }
    if (incomplete) throw new CliError("receipt_unanchored", `${view.id}: ${incomplete}`);
  },
};

export const receiptCommands: readonly Command[] = [getCommand, verifyCommand];
