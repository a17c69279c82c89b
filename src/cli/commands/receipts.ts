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

const verifyCommand: Command = {
  words: ["receipts", "verify"],
  summary: "check a receipt's signature, Merkle proof and on-chain anchor",
  usage: `Usage: meridian receipts verify <attempt-id|payout-id|refund-id|file> [--rpc <url>] [--signer <address>]

Recomputes the receipt's leaf hash from its fields, checks the ed25519 signature over it and, on a
charge receipt, the agent's own signature over its usage statement (by the key its node id names), folds
its Merkle proof up to the batch root and checks the anchor's memo names that root — all offline.
With --rpc (a Solana JSON-RPC URL) it also reads the anchoring transaction from the chain and
checks it landed, carries that memo and was signed by the receipt's signer. --signer requires the
receipt to be signed by that key (the control plane's treasury address). Exits 1 on any failure.
`,
  options: ["rpc", "signer"],
  arity: [1, 1],
  async run(context) {
    const [idOrFile = ""] = context.args;
    const view = await loadReceipt(context, idOrFile);
    const checks = await checkReceiptOffline(view, context.values.signer);
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
