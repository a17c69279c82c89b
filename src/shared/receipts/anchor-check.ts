import { anchorMemo, type ReceiptCheck, type ReceiptView } from "./receipt-view.js";

interface ParsedInstruction {
  program?: string;
  programId?: string;
  parsed?: unknown;
}

interface ParsedTransaction {
  slot: number;
  meta: { err: unknown } | null;
  transaction: {
    message: {
      accountKeys: { pubkey: string; signer: boolean }[];
      instructions: ParsedInstruction[];
    };
  };
}

/** The SPL Memo program (v2) the anchor is written with. */
const MEMO_PROGRAM = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr";

async function rpcCall(
  fetcher: typeof fetch,
  rpcUrl: string,
  method: string,
  params: unknown[],
): Promise<unknown> {
  const response = await fetcher(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message ?? "RPC error"}`);
  return body.result;
}

/**
 * Checks a receipt's anchor against a cluster with nothing but its JSON-RPC API (no SDK of the
 * project's): the transaction exists at `confirmed` or better, did not fail, sits in the slot the
 * receipt says, carries exactly the memo naming the batch's root, and was signed by the key that
 * signed the receipt.
 */
export async function checkAnchorOnChain(
  view: ReceiptView,
  rpcUrl: string,
  fetcher: typeof fetch = fetch,
): Promise<ReceiptCheck> {
  const fail = (detail: string): ReceiptCheck => ({ name: "chain", ok: false, detail });
  if (!view.anchor) return fail("the receipt's batch is not anchored yet");
  let tx: ParsedTransaction | null;
  try {
    tx = (await rpcCall(fetcher, rpcUrl, "getTransaction", [
      view.anchor.transaction,
      { encoding: "jsonParsed", commitment: "confirmed", maxSupportedTransactionVersion: 0 },
    ])) as ParsedTransaction | null;
  } catch (error) {
    return fail(
      `could not read the transaction from ${rpcUrl}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!tx) return fail(`transaction ${view.anchor.transaction} is not on the chain at ${rpcUrl}`);
  if (tx.meta?.err)
    return fail(`transaction ${view.anchor.transaction} failed: ${JSON.stringify(tx.meta.err)}`);
  if (tx.slot !== view.anchor.slot)
    return fail(`the transaction is in slot ${tx.slot}, not ${view.anchor.slot}`);
  const memos = tx.transaction.message.instructions
    .filter((ix) => ix.programId === MEMO_PROGRAM || ix.program === "spl-memo")
    .map((ix) => String(ix.parsed));
  // The memo the proof's root calls for, not the one the receipt claims: a changed root must fail here.
  const expected = view.proof
    ? anchorMemo(view.proof.batchId, view.proof.root, view.proof.leaves)
    : view.anchor.memo;
  if (!memos.includes(expected)) {
    return fail(`the transaction's memos (${JSON.stringify(memos)}) do not name this batch's root`);
  }
  const signers = tx.transaction.message.accountKeys.filter((key) => key.signer).map((key) => key.pubkey);
  if (!signers.includes(view.signer)) {
    return fail(
      `the transaction was signed by ${signers.join(", ")}, not the receipt's signer ${view.signer}`,
    );
  }
  return { name: "chain", ok: true, detail: `memo in slot ${tx.slot}, signed by ${view.signer}` };
}
