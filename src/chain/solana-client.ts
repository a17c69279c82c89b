import {
  appendTransactionMessageInstructions,
  type Blockhash,
  type Commitment,
  createSolanaRpc,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  type Instruction,
  isSolanaError,
  pipe,
  type Rpc,
  type Signature,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
  SOLANA_ERROR__TRANSACTION_ERROR__ALREADY_PROCESSED,
  type SolanaRpcApi,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type TransactionSigner,
} from "@solana/kit";

/** Solana's packet limit: a serialized transaction is at most this many bytes. */
export const MAX_TRANSACTION_BYTES = 1232;

/** A signed transaction ready to send (and to send again: the same bytes, the same signature). */
export interface SignedTransaction {
  signature: Signature;
  /** The wire transaction, base64, as `sendTransaction` takes it. */
  wire: string;
  bytes: number;
  /** After this block height the blockhash is dead and the transaction can never land. */
  lastValidBlockHeight: number;
}

export type TransactionOutcome =
  | { state: "confirmed"; slot: number }
  | { state: "failed"; slot: number; err: unknown }
  | { state: "pending" }
  | { state: "expired" };

/** What a transaction in a block did, as the RPC reports it. */
export interface LandedStatus {
  slot: number;
  err: unknown;
  confirmationStatus: Commitment | null;
}

const RANK: Record<Commitment, number> = { processed: 0, confirmed: 1, finalized: 2 };

/**
 * One cluster's RPC, through @solana/kit (it runs in workerd: WebCrypto Ed25519 and fetch). Signing,
 * sending and checking are separate steps, so a caller can store signed bytes before sending them.
 */
export class SolanaClient {
  readonly rpc: Rpc<SolanaRpcApi>;

  constructor(readonly rpcUrl: string) {
    this.rpc = createSolanaRpc(rpcUrl);
  }

  async latestBlockhash(
    commitment: Commitment = "confirmed",
  ): Promise<{ blockhash: Blockhash; lastValidBlockHeight: bigint }> {
    const { value } = await this.rpc.getLatestBlockhash({ commitment }).send();
    return value;
  }

  /** Builds and signs a v0 transaction; nothing is sent. */
  async sign(feePayer: TransactionSigner, instructions: readonly Instruction[]): Promise<SignedTransaction> {
    const lifetime = await this.latestBlockhash("confirmed");
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(feePayer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(lifetime, m),
      (m) => appendTransactionMessageInstructions(instructions, m),
    );
    const signed = await signTransactionMessageWithSigners(message);
    const wire = getBase64EncodedWireTransaction(signed);
    return {
      signature: getSignatureFromTransaction(signed),
      wire,
      bytes: Math.floor((wire.length * 3) / 4) - (wire.endsWith("==") ? 2 : wire.endsWith("=") ? 1 : 0),
      lastValidBlockHeight: Number(lifetime.lastValidBlockHeight),
    };
  }

  /**
   * Sends signed bytes. Sending the same bytes again is harmless (one signature lands at most once),
   * so a preflight answer of "already processed" counts as sent.
   */
  async send(transaction: SignedTransaction): Promise<void> {
    try {
      await this.rpc
        .sendTransaction(transaction.wire as Parameters<SolanaRpcApi["sendTransaction"]>[0], {
          encoding: "base64",
          preflightCommitment: "confirmed",
        })
        .send();
    } catch (error) {
      if (isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE)) {
        if (isSolanaError(error.cause, SOLANA_ERROR__TRANSACTION_ERROR__ALREADY_PROCESSED)) return;
      }
      throw error;
    }
  }

  async status(signature: Signature): Promise<LandedStatus | null> {
    const { value } = await this.rpc
      .getSignatureStatuses([signature], { searchTransactionHistory: true })
      .send();
    const status = value[0];
    if (!status) return null;
    return { slot: Number(status.slot), err: status.err, confirmationStatus: status.confirmationStatus };
  }

  async blockHeight(commitment: Commitment = "confirmed"): Promise<number> {
    return Number(await this.rpc.getBlockHeight({ commitment }).send());
  }

  /**
   * Where a sent transaction stands: landed at `commitment` (confirmed or failed), still pending, or
   * expired — its blockhash is past `lastValidBlockHeight` at `finalized` and it has no status, so
   * it can never land and may be re-signed (Solana's guidance on retrying).
   */
  async outcome(transaction: SignedTransaction, commitment: Commitment): Promise<TransactionOutcome> {
    const status = await this.status(transaction.signature);
    if (status?.confirmationStatus && RANK[status.confirmationStatus] >= RANK[commitment]) {
      return status.err
        ? { state: "failed", slot: status.slot, err: status.err }
        : { state: "confirmed", slot: status.slot };
    }
    if (status) return { state: "pending" };
    const height = await this.blockHeight("finalized");
    if (height <= transaction.lastValidBlockHeight) return { state: "pending" };
    // Read the status once more: it may have landed between the two reads.
    return (await this.status(transaction.signature)) ? { state: "pending" } : { state: "expired" };
  }
}

/** The message and any context of an RPC error kit raised, as one string for matching and logs. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const context = (error as { context?: unknown }).context;
  let extra = "";
  try {
    extra = context ? JSON.stringify(context, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) : "";
  } catch {
    extra = "";
  }
  const cause = error.cause ? ` (${describe(error.cause)})` : "";
  return `${error.message} ${extra}${cause}`;
}
