import {
  type Commitment,
  isSolanaError,
  type Signature,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
} from "@solana/kit";
import { describe, type SignedTransaction, type SolanaClient } from "../solana-client.js";

/**
 * After this many preflight refusals (across runs and signings) a transaction is no longer sent:
 * once its bytes can no longer land it ends `refused`, a terminal failure its owner sees, instead
 * of being re-signed and refused again forever.
 */
export const MAX_SEND_REFUSALS = 3;

/** What one item (a payout batch, a burn, a stake transfer) has stored about its transaction. */
export interface StoredSend {
  wire: string | null;
  signature: string | null;
  lastValidBlockHeight: number | null;
  sendRefusals: number;
  error: string | null;
}

export interface SendHooks {
  /**
   * Signs with a fresh blockhash and stores the bytes (compare-and-set) before they are sent; throws
   * when another run signed the item first. `expired`: the signature these bytes replace.
   */
  sign(expired: Signature | undefined): Promise<SignedTransaction>;
  /** Records a failed send: the error and the refusals counted so far (unchanged for a network error). */
  sendFailed(error: string, refusals: number): Promise<void>;
  /** Called once the bytes were handed to the RPC (a test crashes the run here). */
  afterSend?: () => void;
}

export type SendOutcome =
  | { state: "confirmed"; slot: number; signed: SignedTransaction; resigned: boolean }
  /** Landed with an error: nothing it carried moved. */
  | { state: "failed"; error: string; resigned: boolean }
  /** Refused by preflight MAX_SEND_REFUSALS times and its last bytes are dead: it never landed. */
  | { state: "refused"; error: string; resigned: boolean }
  | { state: "pending"; resigned: boolean };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The RPC simulated the transaction and refused it (insufficient funds, a bad account, ...). */
export function isPreflightRefusal(error: unknown): boolean {
  return isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE);
}

function storedTransaction(stored: StoredSend): SignedTransaction | undefined {
  if (!stored.wire || !stored.signature || stored.lastValidBlockHeight === null) return undefined;
  return {
    wire: stored.wire,
    signature: stored.signature as Signature,
    lastValidBlockHeight: stored.lastValidBlockHeight,
    bytes: 0,
  };
}

/**
 * Moves one item's transaction forward, exactly once under any crash (Solana's guidance on
 * retries): the same stored bytes are sent until they land or their blockhash dies, and only then
 * are they signed anew. A refused preflight is counted; at MAX_SEND_REFUSALS the bytes are not sent
 * again, and the item ends `refused` only when they can no longer land, so a refused transaction
 * that lands after all is still seen as confirmed and nothing is paid twice.
 */
export async function driveSend(input: {
  chain: SolanaClient;
  commitment: Commitment;
  stored: StoredSend;
  hooks: SendHooks;
  confirmWaitMs?: number;
}): Promise<SendOutcome> {
  const { chain, commitment, stored, hooks } = input;
  let refusals = stored.sendRefusals;
  let resigned = false;
  let signed = storedTransaction(stored);
  if (signed) {
    const outcome = await chain.outcome(signed, commitment);
    if (outcome.state === "confirmed") return { state: "confirmed", slot: outcome.slot, signed, resigned };
    if (outcome.state === "failed") return { state: "failed", error: describe(outcome.err), resigned };
    if (refusals >= MAX_SEND_REFUSALS) {
      if (outcome.state === "expired")
        return { state: "refused", error: stored.error ?? "refused by preflight", resigned };
      return { state: "pending", resigned };
    }
    if (outcome.state === "expired") {
      signed = await hooks.sign(signed.signature);
      resigned = true;
    }
  } else {
    signed = await hooks.sign(undefined);
  }
  try {
    await chain.send(signed);
  } catch (error) {
    const refused = isPreflightRefusal(error);
    if (refused) refusals += 1;
    const text = describe(error).slice(0, 500);
    await hooks.sendFailed(
      refusals >= MAX_SEND_REFUSALS ? `refused by preflight ${refusals} times: ${text}` : text,
      refusals,
    );
    // Refused bytes are not in flight: the next run sends them again (or, at the limit, ends the
    // item once they are dead). After a network error they may be, so wait for them.
    if (refused) return { state: "pending", resigned };
  }
  hooks.afterSend?.();
  const deadline = Date.now() + (input.confirmWaitMs ?? 3_000);
  while (Date.now() < deadline) {
    const outcome = await chain.outcome(signed, commitment);
    if (outcome.state === "confirmed") return { state: "confirmed", slot: outcome.slot, signed, resigned };
    if (outcome.state === "failed") return { state: "failed", error: describe(outcome.err), resigned };
    if (outcome.state === "expired") break;
    await sleep(50);
  }
  return { state: "pending", resigned };
}

/** The expired-signature list (JSON) with one more entry, for an item signed anew. */
export function withExpired(stored: string, expired: Signature | undefined): string {
  const earlier: unknown = JSON.parse(stored);
  return JSON.stringify([...(Array.isArray(earlier) ? earlier : []), ...(expired ? [expired] : [])]);
}
