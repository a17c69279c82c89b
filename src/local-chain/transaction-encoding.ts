import { getBase58Decoder, getBase58Encoder } from "@solana/kit";
import { parseInstruction } from "./instruction-parser.js";
import { RpcError } from "./rpc-error.js";
import { uiTokenAmount } from "./token-state.js";
import type { TokenBalanceRecord, TxRecord } from "./tx-record.js";
import { decodeWireTransaction } from "./wire-transaction.js";

export type TransactionEncoding = "json" | "jsonParsed" | "base64" | "base58";

export function transactionEncoding(raw: unknown): TransactionEncoding {
  if (raw === undefined || raw === null) return "json";
  if (raw === "json" || raw === "jsonParsed" || raw === "base64" || raw === "base58") return raw;
  throw RpcError.invalidParams(
    `Invalid params: unknown variant \`${String(raw)}\`, expected one of \`binary\`, \`base64\`, \`base58\`, \`json\`, \`jsonParsed\``,
  );
}

function tokenBalanceJson(balance: TokenBalanceRecord): Record<string, unknown> {
  return {
    accountIndex: balance.accountIndex,
    mint: balance.mint,
    owner: balance.owner,
    programId: balance.programId,
    uiTokenAmount: uiTokenAmount(BigInt(balance.amount), balance.decimals),
  };
}

/**
 * `getTransaction`'s result for a landed transaction. A v0 transaction needs
 * `maxSupportedTransactionVersion: 0` (else -32015, as on a cluster); `version` is only reported to a
 * client that sent that parameter.
 */
export function encodeTransaction(
  record: TxRecord,
  encoding: TransactionEncoding,
  maxSupportedVersion: number | undefined,
): Record<string, unknown> {
  const wire = new Uint8Array(Buffer.from(record.wire, "base64"));
  const decoded = decodeWireTransaction(wire);
  if (decoded.version === 0 && maxSupportedVersion === undefined) {
    throw new RpcError(
      -32015,
      'Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0',
    );
  }
  const base58 = getBase58Decoder();
  const keys = record.accountKeys;
  const parsed = encoding === "jsonParsed";
  const instructionJson = (
    programIdIndex: number,
    accounts: number[],
    data: Uint8Array,
    stackHeight: number | null,
  ) => {
    const programId = keys[programIdIndex] ?? "";
    const dataBase58 = base58.decode(data);
    if (!parsed) return { accounts, data: dataBase58, programIdIndex, stackHeight };
    return parseInstruction(
      programId,
      accounts.map((i) => keys[i] ?? ""),
      data,
      dataBase58,
      stackHeight,
    );
  };
  const inner = record.innerInstructions.map((group) => ({
    index: group.index,
    instructions: group.instructions.map((ix) =>
      instructionJson(
        ix.programIdIndex,
        ix.accounts,
        new Uint8Array(getBase58Encoder().encode(ix.data)),
        ix.stackHeight,
      ),
    ),
  }));
  const meta: Record<string, unknown> = {
    computeUnitsConsumed: record.computeUnits,
    err: record.err,
    fee: record.fee,
    innerInstructions: inner,
    loadedAddresses: { readonly: [], writable: [] },
    logMessages: record.logs,
    postBalances: record.postBalances,
    postTokenBalances: record.postTokenBalances.map(tokenBalanceJson),
    preBalances: record.preBalances,
    preTokenBalances: record.preTokenBalances.map(tokenBalanceJson),
    rewards: [],
    status: record.err === null ? { Ok: null } : { Err: record.err },
  };
  if (parsed) delete meta.loadedAddresses;
  let transaction: unknown;
  if (encoding === "base64") transaction = [record.wire, "base64"];
  else if (encoding === "base58") transaction = [base58.decode(wire), "base58"];
  else {
    const header = decoded.message.header;
    const message: Record<string, unknown> = {
      accountKeys: parsed
        ? keys.map((pubkey, i) => ({
            pubkey,
            signer: decoded.signer[i] ?? false,
            source: "transaction",
            writable: decoded.writable[i] ?? false,
          }))
        : keys,
      header: {
        numReadonlySignedAccounts: header.numReadonlySignerAccounts,
        numReadonlyUnsignedAccounts: header.numReadonlyNonSignerAccounts,
        numRequiredSignatures: header.numSignerAccounts,
      },
      instructions: decoded.message.instructions.map((ix) =>
        instructionJson(ix.programAddressIndex, ix.accountIndices ?? [], new Uint8Array(ix.data ?? []), null),
      ),
      recentBlockhash: decoded.recentBlockhash,
    };
    if (parsed) delete message.header;
    if (decoded.version === 0) message.addressTableLookups = [];
    transaction = { message, signatures: decoded.signatures };
  }
  const result: Record<string, unknown> = {
    blockTime: record.blockTime,
    meta,
    slot: record.slot,
    transaction,
  };
  if (maxSupportedVersion !== undefined) result.version = decoded.version;
  return result;
}
