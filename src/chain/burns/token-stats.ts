import type { Address } from "@solana/kit";
import { fetchMint } from "@solana-program/token";
import { desc, eq, sql } from "drizzle-orm";
import { type BurnRow, burns } from "../../../schema/burns.js";
import { BURN_RESERVE } from "../../ledger/ledger-accounts.js";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import { balanceMicrosOf } from "../../ledger/transfer.js";
import type { BurnView, TokenStatsView } from "../../shared/token-api.js";
import type { SolanaClient } from "../solana-client.js";
import { fromBaseUnits } from "../token-amount.js";

const amount = (base: bigint, decimals: number) => ({
  mrd: fromBaseUnits(base, decimals),
  base: base.toString(),
});

export function burnView(row: BurnRow): BurnView {
  return {
    id: row.id,
    status: row.status,
    reserveMicros: row.reserveMicros,
    rateMicros: row.rateMicros,
    mrd: fromBaseUnits(BigInt(row.mrdBase), 6),
    signature: row.signature,
    slot: row.slot,
    error: row.error,
    claimedAt: new Date(row.claimedAt).toISOString(),
    burnedAt: row.burnedAt === null ? null : new Date(row.burnedAt).toISOString(),
  };
}

/**
 * Supply and staked come from the chain (the mint account and the stake vault, at `confirmed`), so
 * they are true whatever D1 says; burned and the reserve come from the ledger, which links each
 * burn to its transaction.
 */
export async function tokenStats(input: {
  db: LedgerDb;
  chain: SolanaClient;
  mrdMint: Address;
  stakeVault: Address | null;
  rateMicros: number;
}): Promise<TokenStatsView> {
  const { db, chain } = input;
  const [mint, staked, totals, last, reserve] = await Promise.all([
    fetchMint(chain.rpc, input.mrdMint, { commitment: "confirmed" }),
    input.stakeVault
      ? chain.rpc.getTokenAccountBalance(input.stakeVault, { commitment: "confirmed" }).send()
      : null,
    db
      .select({
        burns: sql<number>`count(*)`,
        micros: sql<number>`coalesce(sum(${burns.reserveMicros}), 0)`,
        base: sql<number>`coalesce(sum(${burns.mrdBase}), 0)`,
      })
      .from(burns)
      .where(eq(burns.status, "burned"))
      .get(),
    db.select().from(burns).where(eq(burns.status, "burned")).orderBy(desc(burns.burnedAt)).limit(1).get(),
    balanceMicrosOf(db, BURN_RESERVE.id),
  ]);
  const decimals = mint.data.decimals;
  return {
    mint: input.mrdMint,
    decimals,
    supply: amount(mint.data.supply, decimals),
    burned: {
      ...amount(BigInt(totals?.base ?? 0), decimals),
      micros: totals?.micros ?? 0,
      burns: totals?.burns ?? 0,
    },
    staked: amount(staked ? BigInt(staked.value.amount) : 0n, decimals),
    burnReserveMicros: reserve,
    rateMicros: input.rateMicros,
    lastBurn:
      last?.signature && last.burnedAt !== null
        ? {
            id: last.id,
            signature: last.signature,
            mrd: fromBaseUnits(BigInt(last.mrdBase), decimals),
            burnedAt: new Date(last.burnedAt).toISOString(),
          }
        : null,
  };
}
