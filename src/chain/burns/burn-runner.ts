import type { Address, Commitment, KeyPairSigner, Signature } from "@solana/kit";
import { and, eq } from "drizzle-orm";
import { type BurnRow, burns } from "../../../schema/burns.js";
import { BURN_RESERVE, BURNED } from "../../ledger/ledger-accounts.js";
import { type LedgerDb, runBatch } from "../../ledger/ledger-db.js";
import { transferStatements } from "../../ledger/transfer.js";
import { driveSend, withExpired } from "../sending/durable-send.js";
import type { SignedTransaction, SolanaClient } from "../solana-client.js";
import { claimBurn, openBurn } from "./burn-claim.js";
import { burnInstructions } from "./burn-transaction.js";

/** The durable steps of a burn, in order; a test crashes the run after any of them. */
export type BurnStep = "claimed" | "signed" | "sent";

export interface BurnRunOptions {
  db: LedgerDb;
  chain: SolanaClient;
  treasury: KeyPairSigner;
  mrdMint: Address;
  burnVault: Address;
  /** µUSD per whole MRD (MRD_USD_MICROS): the price the reserve buys MRD at. */
  rateMicros: number;
  /** The reserve waits until it holds this much (µUSD). */
  minMicros: number;
  commitment: Commitment;
  /** False: only carry an open burn forward (an alarm between scheduled runs). */
  claim: boolean;
  now: () => number;
  confirmWaitMs?: number;
  /** Test hook: called after each durable step; throwing here is a crash at exactly that point. */
  afterStep?: (step: BurnStep) => void;
}

export interface BurnRunResult {
  claimed: number;
  /** Burns confirmed in this run, the µUSD they spent and the MRD base units they burned. */
  burned: number;
  burnedMicros: number;
  burnedMrdBase: number;
  /** A burn still waiting to land (carried to the next run). */
  pending: number;
  /** Burns that failed on chain or whose preflight refused them MAX_SEND_REFUSALS times (both counted in failed). */
  failed: number;
  refused: number;
  resigned: number;
}

/** Another run signed the burn first; this run leaves it alone. */
class BurnContention extends Error {}

/**
 * One buy-back-and-burn run, exactly once under any crash by the same steps as payouts: the reserve
 * is claimed (its µUSD moved to `burned`, the MRD amount fixed) before signing; the signed bytes and
 * last valid block height are stored before sending; the same bytes go again until they land or
 * their blockhash dies, and only then is the burn signed anew (src/chain/sending). A burn that fails
 * on chain, or that preflight refused until its bytes died, gives its µUSD back to the reserve in
 * the batch that marks it failed, with the error on the burn (GET /v1/token/burns).
 */
export async function runBurns(options: BurnRunOptions): Promise<BurnRunResult> {
  const result: BurnRunResult = {
    claimed: 0,
    burned: 0,
    burnedMicros: 0,
    burnedMrdBase: 0,
    pending: 0,
    failed: 0,
    refused: 0,
    resigned: 0,
  };
  if (options.claim) {
    const claimed = await claimBurn(options.db, {
      rateMicros: options.rateMicros,
      minMicros: options.minMicros,
      now: options.now(),
    });
    if (claimed) {
      result.claimed = 1;
      options.afterStep?.("claimed");
    }
  }
  const burn = await openBurn(options.db);
  if (!burn) return result;
  try {
    await advance(options, burn, result);
  } catch (error) {
    if (!(error instanceof BurnContention)) throw error;
  }
  return result;
}

async function advance(options: BurnRunOptions, burn: BurnRow, result: BurnRunResult): Promise<void> {
  const outcome = await driveSend({
    chain: options.chain,
    commitment: options.commitment,
    stored: burn,
    confirmWaitMs: options.confirmWaitMs,
    hooks: {
      sign: (expired) => sign(options, burn, expired),
      sendFailed: async (error, refusals) => {
        await options.db.update(burns).set({ error, sendRefusals: refusals }).where(eq(burns.id, burn.id));
      },
      afterSend: () => options.afterStep?.("sent"),
    },
  });
  if (outcome.resigned) result.resigned += 1;
  if (outcome.state === "confirmed") return settle(options, burn, outcome.signed, outcome.slot, result);
  if (outcome.state === "failed") return fail(options, burn, outcome.error, result);
  if (outcome.state === "refused") {
    result.refused += 1;
    return fail(options, burn, outcome.error, result);
  }
  result.pending += 1;
}

/** Signs with a fresh blockhash and stores the bytes before anything is sent. */
async function sign(
  options: BurnRunOptions,
  burn: BurnRow,
  expired: Signature | undefined,
): Promise<SignedTransaction> {
  const instructions = await burnInstructions(options.treasury, {
    burnId: burn.id,
    reserveMicros: burn.reserveMicros,
    mrdBase: BigInt(burn.mrdBase),
    mrdMint: options.mrdMint,
    burnVault: options.burnVault,
  });
  const signed = await options.chain.sign(options.treasury, instructions);
  // Stored only if nobody signed this burn meanwhile: bytes that lose the race are never sent.
  const stored = await options.db
    .update(burns)
    .set({
      wire: signed.wire,
      signature: signed.signature,
      lastValidBlockHeight: signed.lastValidBlockHeight,
      signings: burn.signings + 1,
      expiredSignatures: withExpired(burn.expiredSignatures, expired),
    })
    .where(and(eq(burns.id, burn.id), eq(burns.signings, burn.signings), eq(burns.status, "open")))
    .returning({ id: burns.id });
  if (stored.length === 0) throw new BurnContention(`burn ${burn.id} was signed by another run`);
  options.afterStep?.("signed");
  return signed;
}

async function settle(
  options: BurnRunOptions,
  burn: BurnRow,
  signed: SignedTransaction,
  slot: number,
  result: BurnRunResult,
): Promise<void> {
  const done = await options.db
    .update(burns)
    .set({ status: "burned", signature: signed.signature, slot, burnedAt: options.now(), error: null })
    .where(and(eq(burns.id, burn.id), eq(burns.status, "open")))
    .returning({ id: burns.id });
  if (done.length === 0) return;
  result.burned += 1;
  result.burnedMicros += burn.reserveMicros;
  result.burnedMrdBase += burn.mrdBase;
}

async function fail(
  options: BurnRunOptions,
  burn: BurnRow,
  error: string,
  result: BurnRunResult,
): Promise<void> {
  const at = options.now();
  // The transaction failed on chain, so no MRD moved: the µUSD goes back to the reserve.
  await runBatch(options.db, [
    options.db
      .update(burns)
      .set({ status: "failed", error: error.slice(0, 500) })
      .where(and(eq(burns.id, burn.id), eq(burns.status, "open"))),
    ...transferStatements(options.db, {
      debit: BURNED,
      credit: BURN_RESERVE,
      amountMicros: burn.reserveMicros,
      kind: "burn_buyback_reversal",
      idempotencyKey: `burn-reversal:${burn.id}`,
      memo: `burn ${burn.id} failed on chain`,
      at,
    }),
  ]);
  result.failed += 1;
}
