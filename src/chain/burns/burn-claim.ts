import { eq } from "drizzle-orm";
import { type BurnRow, burns } from "../../../schema/burns.js";
import { MAX_TRANSFER_MICROS } from "../../../schema/ledger.js";
import { BURN_RESERVE, BURNED } from "../../ledger/ledger-accounts.js";
import { type LedgerDb, runBatch } from "../../ledger/ledger-db.js";
import { balanceMicrosOf, transferStatements } from "../../ledger/transfer.js";
import { newId } from "../../shared/ids.js";
import { mrdForMicros } from "./burn-config.js";

/** The burn in flight, if any (at most one: the burns_one_open index). */
export async function openBurn(db: LedgerDb): Promise<BurnRow | undefined> {
  return db.select().from(burns).where(eq(burns.status, "open")).get();
}

/**
 * Claims the burn reserve for one burn: the burn row and the ledger's move of its µUSD from the
 * reserve to `burned` commit in one D1 batch, before anything is signed. A refund that takes from
 * the reserve afterwards finds only what came in since; a second claim while one is open fails the
 * burns_one_open index and rolls back whole. Null when nothing is due.
 */
export async function claimBurn(
  db: LedgerDb,
  input: { rateMicros: number; minMicros: number; now: number },
): Promise<BurnRow | null> {
  if (await openBurn(db)) return null;
  const reserve = Math.min(await balanceMicrosOf(db, BURN_RESERVE.id), MAX_TRANSFER_MICROS);
  if (reserve < input.minMicros) return null;
  const mrdBase = mrdForMicros(reserve, input.rateMicros);
  if (mrdBase <= 0n) return null;
  const row: BurnRow = {
    id: newId("brn", input.now),
    reserveMicros: reserve,
    rateMicros: input.rateMicros,
    mrdBase: Number(mrdBase),
    status: "open",
    wire: null,
    signature: null,
    lastValidBlockHeight: null,
    signings: 0,
    expiredSignatures: "[]",
    sendRefusals: 0,
    slot: null,
    error: null,
    claimedAt: input.now,
    burnedAt: null,
  };
  await runBatch(db, [
    db.insert(burns).values(row),
    ...transferStatements(db, {
      debit: BURN_RESERVE,
      credit: BURNED,
      amountMicros: reserve,
      kind: "burn_buyback",
      idempotencyKey: `burn:${row.id}`,
      memo: `buy back ${mrdBase} MRD base units at ${input.rateMicros} µUSD/MRD to burn (${row.id})`,
      at: input.now,
    }),
  ]);
  return row;
}
