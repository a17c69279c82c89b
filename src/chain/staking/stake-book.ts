import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { nodeStakes, type StakeTransferRow, stakeDeposits, stakeTransfers } from "../../../schema/staking.js";
import { type LedgerDb, type LedgerStatement, runBatch } from "../../ledger/ledger-db.js";
import { MeridianError } from "../../shared/errors.js";
import { newId } from "../../shared/ids.js";
import type { StakeTransferView, StakeView } from "../../shared/staking-api.js";
import { auditStatement } from "../../worker/audit-log.js";
import { fromBaseUnits } from "../token-amount.js";
import { type StakeConfig, tierFor } from "./stake-config.js";
import { depositMemo } from "./stake-deposit.js";

const amount = (base: bigint | number) => ({ mrd: fromBaseUnits(BigInt(base), 6), base: String(base) });
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A stake transfer's sending state before its transaction is first signed. */
const NOT_SENT = {
  wire: null,
  signature: null,
  lastValidBlockHeight: null,
  signings: 0,
  expiredSignatures: "[]",
  sendRefusals: 0,
  slot: null,
  error: null,
  doneAt: null,
} as const;

/** Withdrawals asked for and not yet out of the vault: they are still at stake. */
const STILL_AT_STAKE = ["unbonding", "open"] as const;

export async function stakedBaseOf(db: LedgerDb, nodeId: string): Promise<number> {
  const row = await db.select().from(nodeStakes).where(eq(nodeStakes.nodeId, nodeId)).get();
  return row?.stakedBase ?? 0;
}

function unbondingOf(rows: readonly StakeTransferRow[]): StakeTransferRow[] {
  return rows.filter(
    (r) =>
      r.kind === "withdraw" && (STILL_AT_STAKE as readonly string[]).includes(r.status) && r.amountBase > 0,
  );
}

export function transferView(row: StakeTransferRow): StakeTransferView {
  return {
    id: row.id,
    kind: row.kind,
    amount: amount(row.amountBase),
    status: row.status,
    readyAt: new Date(row.readyAt).toISOString(),
    destination: row.destination,
    evidence: row.evidence,
    evidenceHash: row.evidenceHash,
    reason: row.reason,
    signature: row.signature,
    error: row.error,
    createdAt: new Date(row.createdAt).toISOString(),
    doneAt: iso(row.doneAt),
  };
}

export async function stakeView(
  db: LedgerDb,
  input: { nodeId: string; config: StakeConfig; vault: string; mint: string },
): Promise<StakeView> {
  const [staked, transfers, deposits] = await Promise.all([
    stakedBaseOf(db, input.nodeId),
    db
      .select()
      .from(stakeTransfers)
      .where(eq(stakeTransfers.nodeId, input.nodeId))
      .orderBy(desc(stakeTransfers.createdAt))
      .limit(100)
      .all(),
    db
      .select()
      .from(stakeDeposits)
      .where(eq(stakeDeposits.nodeId, input.nodeId))
      .orderBy(desc(stakeDeposits.createdAt))
      .limit(100)
      .all(),
  ]);
  const unbonding = unbondingOf(transfers).reduce((sum, r) => sum + BigInt(r.amountBase), 0n);
  return {
    nodeId: input.nodeId,
    staked: amount(staked),
    unbonding: amount(unbonding),
    tier: tierFor(BigInt(staked)),
    cooldownMs: input.config.cooldownMs,
    slashShareBps: input.config.slashShareBps,
    deposit: { vault: input.vault, mint: input.mint, memo: depositMemo(input.nodeId) },
    deposits: deposits.map((d) => ({
      signature: d.signature,
      amount: amount(d.amountBase),
      wallet: d.wallet,
      at: new Date(d.createdAt).toISOString(),
    })),
    transfers: transfers.map(transferView),
  };
}

function isNegativeStake(error: unknown): boolean {
  const text = String(error) + String((error as { cause?: unknown }).cause ?? "");
  return /CHECK constraint failed: node_stakes_not_negative/i.test(text);
}

function moreThanStaked(staked: number): MeridianError {
  return new MeridianError(
    422,
    "insufficient_stake",
    `the node has ${fromBaseUnits(BigInt(staked), 6)} MRD staked: unstake at most that`,
  );
}

/**
 * Starts an unstake: the amount leaves `staked` and waits out the cooldown as an unbonding
 * withdrawal, in one batch; the node_stakes check refuses the batch whole when two unstakes race
 * past what is staked.
 */
export async function requestUnstake(
  db: LedgerDb,
  input: {
    nodeId: string;
    accountId: string;
    amountBase: bigint;
    cooldownMs: number;
    now: number;
    /** Who asked, for the audit log. */
    by?: { keyId?: string | null; address?: string | null };
  },
): Promise<StakeTransferRow> {
  const staked = await stakedBaseOf(db, input.nodeId);
  if (input.amountBase > BigInt(staked)) throw moreThanStaked(staked);
  const amountBase = Number(input.amountBase);
  const row: StakeTransferRow = {
    id: newId("stk", input.now),
    kind: "withdraw",
    nodeId: input.nodeId,
    accountId: input.accountId,
    amountBase,
    status: "unbonding",
    readyAt: input.now + input.cooldownMs,
    destination: null,
    evidence: null,
    evidenceHash: null,
    reason: null,
    ...NOT_SENT,
    createdAt: input.now,
  };
  try {
    await runBatch(db, [
      db
        .update(nodeStakes)
        .set({ stakedBase: sql`${nodeStakes.stakedBase} - ${amountBase}`, updatedAt: input.now })
        .where(eq(nodeStakes.nodeId, input.nodeId)),
      db.insert(stakeTransfers).values(row),
      auditStatement(db, {
        accountId: input.accountId,
        action: "stake.unstaked",
        subject: input.nodeId,
        ...input.by,
        details: { transfer: row.id, amountBase, readyAt: new Date(row.readyAt).toISOString() },
        now: input.now,
      }),
    ]);
  } catch (error) {
    if (isNegativeStake(error)) throw moreThanStaked(await stakedBaseOf(db, input.nodeId));
    throw error;
  }
  return row;
}

function isDuplicateEvidence(error: unknown): boolean {
  const text = String(error) + String((error as { cause?: unknown }).cause ?? "");
  return /UNIQUE constraint failed: stake_transfers\.evidence/i.test(text);
}

/**
 * Slashes `shareBps` of the node's stake — what is staked and what is unbonding, since the cooldown
 * is there so that leaving does not dodge a slash — into a transfer to the treasury, linked to its
 * evidence. One slash per piece of evidence (a unique index); a node with nothing at stake is a 422.
 */
export async function slashStake(
  db: LedgerDb,
  input: {
    nodeId: string;
    shareBps: number;
    evidence: string;
    evidenceHash: string;
    reason: string;
    treasury: string;
    now: number;
  },
): Promise<StakeTransferRow> {
  const stake = await db.select().from(nodeStakes).where(eq(nodeStakes.nodeId, input.nodeId)).get();
  const unbonding = unbondingOf(
    await db
      .select()
      .from(stakeTransfers)
      .where(and(eq(stakeTransfers.nodeId, input.nodeId), inArray(stakeTransfers.status, ["unbonding"])))
      .all(),
  );
  const share = (base: number) => Math.floor((base * input.shareBps) / 10_000);
  const fromStaked = share(stake?.stakedBase ?? 0);
  const statements: LedgerStatement[] = [];
  let total = fromStaked;
  if (fromStaked > 0)
    statements.push(
      db
        .update(nodeStakes)
        .set({ stakedBase: sql`${nodeStakes.stakedBase} - ${fromStaked}`, updatedAt: input.now })
        .where(eq(nodeStakes.nodeId, input.nodeId)),
    );
  for (const row of unbonding) {
    const cut = share(row.amountBase);
    if (cut <= 0) continue;
    total += cut;
    // Compare-and-set on the amount read: a withdrawal claimed for sending meanwhile is left whole.
    statements.push(
      db
        .update(stakeTransfers)
        .set({
          amountBase: row.amountBase - cut,
          status: row.amountBase - cut === 0 ? "done" : "unbonding",
          error: row.amountBase - cut === 0 ? "slashed whole" : null,
        })
        .where(
          and(
            eq(stakeTransfers.id, row.id),
            eq(stakeTransfers.status, "unbonding"),
            eq(stakeTransfers.amountBase, row.amountBase),
          ),
        ),
    );
  }
  if (total <= 0)
    throw new MeridianError(422, "nothing_to_slash", `node ${input.nodeId} has no stake to slash`);
  const slash: StakeTransferRow = {
    id: newId("stk", input.now),
    kind: "slash",
    nodeId: input.nodeId,
    accountId: stake?.accountId ?? unbonding[0]?.accountId ?? "",
    amountBase: total,
    status: "open",
    readyAt: input.now,
    destination: input.treasury,
    evidence: input.evidence,
    evidenceHash: input.evidenceHash,
    reason: input.reason,
    ...NOT_SENT,
    createdAt: input.now,
  };
  statements.push(
    db.insert(stakeTransfers).values(slash),
    // The owner reads it: recorded in the slash's own batch (a second slash for the same evidence
    // fails whole, recording nothing). An operator or the region's evidence did it, not a key.
    auditStatement(db, {
      accountId: slash.accountId,
      action: "stake.slashed",
      subject: input.nodeId,
      details: { transfer: slash.id, amountBase: total, evidence: input.evidence, reason: input.reason },
      now: input.now,
    }),
  );
  try {
    await runBatch(db, statements);
  } catch (error) {
    if (isDuplicateEvidence(error))
      throw new MeridianError(
        409,
        "already_slashed",
        `node ${input.nodeId} was already slashed for ${input.evidence}`,
      );
    throw error;
  }
  return slash;
}
