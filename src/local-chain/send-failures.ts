import { RpcError } from "./rpc-error.js";
import { describeTxError, type TxErrorJson } from "./tx-errors.js";

/** `sendTransaction`'s answers when preflight refuses a transaction, in a cluster's exact shapes. */
export function preflightFailure(outcome: {
  err: TxErrorJson;
  logs: string[];
  unitsConsumed: number;
}): RpcError {
  return new RpcError(-32002, `Transaction simulation failed: ${describeTxError(outcome.err)}`, {
    accounts: null,
    err: outcome.err,
    innerInstructions: null,
    loadedAccountsDataSize: 0,
    logs: outcome.logs,
    replacementBlockhash: null,
    returnData: null,
    unitsConsumed: outcome.unitsConsumed,
  });
}

export function signatureFailure(): RpcError {
  return new RpcError(-32003, "Transaction signature verification failure");
}
