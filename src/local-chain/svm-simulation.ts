import { type LiteSVM, SimulatedTransactionInfo } from "litesvm";
import type { AccountSnapshot } from "./chain-store.js";
import { executionResult, type TxErrorJson } from "./tx-errors.js";
import type { DecodedTransaction } from "./wire-transaction.js";

export interface SimulationOutcome {
  err: TxErrorJson | null;
  logs: string[];
  unitsConsumed: number;
  postAccounts: Map<string, AccountSnapshot | null>;
  replacementBlockhash: { blockhash: string; lastValidBlockHeight: number } | null;
}

/**
 * Runs a transaction in LiteSVM without committing it: its error, logs and compute units, and the
 * state after it of the accounts asked for (`simulateTransaction`'s `accounts`). An account the
 * transaction does not touch is reported as it is now (`current`).
 */
export function simulateOnSvm(
  svm: LiteSVM,
  transaction: DecodedTransaction["transaction"],
  config: { sigVerify: boolean; accounts: string[] },
  current: (addr: string) => AccountSnapshot | null,
): Omit<SimulationOutcome, "replacementBlockhash"> {
  svm.withSigverify(config.sigVerify);
  let result: ReturnType<LiteSVM["simulateTransaction"]>;
  try {
    result = svm.simulateTransaction(transaction);
  } finally {
    svm.withSigverify(true);
  }
  const postAccounts = new Map<string, AccountSnapshot | null>();
  if (result instanceof SimulatedTransactionInfo) {
    const meta = result.meta();
    const post = new Map(result.postAccounts().map((a) => [a.address as string, a]));
    for (const wanted of config.accounts) {
      const found = post.get(wanted);
      postAccounts.set(
        wanted,
        found
          ? {
              lamports: found.lamports,
              owner: found.programAddress,
              executable: found.executable,
              data: new Uint8Array(found.data),
            }
          : current(wanted),
      );
    }
    return { err: null, logs: meta.logs(), unitsConsumed: Number(meta.computeUnitsConsumed()), postAccounts };
  }
  const failed = executionResult(result);
  return {
    err: failed.ok ? null : failed.err,
    logs: failed.meta.logs(),
    unitsConsumed: Number(failed.meta.computeUnitsConsumed()),
    postAccounts,
  };
}
