import {
  type Address,
  type CompiledTransactionMessage,
  type CompiledTransactionMessageWithLifetime,
  getBase58Decoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  type LegacyCompiledTransactionMessage,
  type Transaction,
  type V0CompiledTransactionMessage,
} from "@solana/kit";
import { RpcError } from "./rpc-error.js";

/** Solana's packet limit: a serialized transaction larger than this is refused by every cluster. */
export const PACKET_DATA_SIZE = 1232;

export interface DecodedTransaction {
  wire: Uint8Array;
  transaction: Transaction;
  message: (LegacyCompiledTransactionMessage | V0CompiledTransactionMessage) &
    CompiledTransactionMessageWithLifetime;
  /** base58 signatures in the order of the signer accounts; the first is the transaction's id. */
  signatures: string[];
  signature: string;
  accountKeys: Address[];
  signer: boolean[];
  writable: boolean[];
  version: "legacy" | 0;
  recentBlockhash: string;
}

const ZERO_SIGNATURE = "1111111111111111111111111111111111111111111111111111111111111111";

/**
 * Decodes a wire transaction, refusing what a cluster's RPC refuses before execution (oversize,
 * malformed, address lookup tables this chain does not keep, v1 messages) with -32602 as Solana does.
 */
export function decodeWireTransaction(bytes: Uint8Array): DecodedTransaction {
  if (bytes.length > PACKET_DATA_SIZE) {
    throw RpcError.invalidParams(
      `base64 encoded solana_transaction::versioned::VersionedTransaction too large: ${bytes.length} bytes (max: encoded/raw 1644/${PACKET_DATA_SIZE})`,
    );
  }
  let transaction: Transaction;
  let message: CompiledTransactionMessage & CompiledTransactionMessageWithLifetime;
  try {
    transaction = getTransactionDecoder().decode(bytes);
    message = getCompiledTransactionMessageDecoder().decode(transaction.messageBytes);
  } catch {
    throw RpcError.invalidParams(
      "failed to deserialize solana_transaction::versioned::VersionedTransaction: io error",
    );
  }
  if (message.version === 1) {
    throw RpcError.invalidParams("unsupported transaction version 1");
  }
  if (message.version === 0 && (message.addressTableLookups?.length ?? 0) > 0) {
    throw RpcError.invalidParams("address lookup tables are not supported by the local chain");
  }
  const base58 = getBase58Decoder();
  const signatures = Object.values(transaction.signatures).map((sig) =>
    sig ? base58.decode(sig) : ZERO_SIGNATURE,
  );
  const keys = message.staticAccounts;
  const { numSignerAccounts, numReadonlySignerAccounts, numReadonlyNonSignerAccounts } = message.header;
  const signer = keys.map((_, i) => i < numSignerAccounts);
  const writable = keys.map((_, i) =>
    i < numSignerAccounts
      ? i < numSignerAccounts - numReadonlySignerAccounts
      : i < keys.length - numReadonlyNonSignerAccounts,
  );
  return {
    wire: bytes,
    transaction,
    message,
    signatures,
    signature: signatures[0] ?? ZERO_SIGNATURE,
    accountKeys: keys,
    signer,
    writable,
    version: message.version,
    recentBlockhash: message.lifetimeToken,
  };
}
