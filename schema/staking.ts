import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Providers' MRD stakes (src/chain/staking), in MRD base units (6 decimals), not µUSD: the stake is
 * tokens held in the custodial stake vault, tracked per node here. A deposit is a transaction the
 * provider signs (checked on chain before it counts); an unstake waits out the cooldown and then
 * leaves the vault by a treasury-signed transfer; a slash moves a share to the treasury with its
 * evidence. Times are ms.
 */

/** What each node has staked and not asked back. */
export const nodeStakes = sqliteTable(
  "node_stakes",
  {
    nodeId: text("node_id").primaryKey(),
    accountId: text("account_id").notNull(),
    stakedBase: integer("staked_base").notNull().default(0),
    updatedAt: integer("updated_at").notNull(),
    /**
     * The tier the node's region last acknowledged, and that region: the cron tells the region again
     * whenever they differ from what `staked_base` earns and where the node is (src/worker/stake-tier.ts).
     */
    toldTier: text("told_tier"),
    toldRegion: text("told_region"),
  },
  (t) => [
    index("node_stakes_account").on(t.accountId),
    // An unstake or slash of more than is staked fails here and its whole batch rolls back.
    check("node_stakes_not_negative", sql`${t.stakedBase} >= 0`),
  ],
);

/** One deposit per transaction signature: a signature shown twice is refused by the primary key. */
export const stakeDeposits = sqliteTable(
  "stake_deposits",
  {
    signature: text("signature").primaryKey(),
    nodeId: text("node_id").notNull(),
    accountId: text("account_id").notNull(),
    /** The wallet whose MRD went into the vault (the transfer's authority). */
    wallet: text("wallet").notNull(),
    amountBase: integer("amount_base").notNull(),
    slot: integer("slot").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("stake_deposits_node").on(t.nodeId, t.createdAt),
    check("stake_deposits_positive", sql`${t.amountBase} > 0`),
  ],
);

export const STAKE_TRANSFER_STATUSES = ["unbonding", "open", "done", "failed"] as const;

/**
 * MRD leaving the vault. A withdrawal is `unbonding` until its cooldown ends, then `open` (claimed:
 * amount and destination fixed) while its treasury-signed transfer is sent, exactly once, by the
 * same steps as payouts; a slash is `open` from the start and goes to the treasury.
 */
export const stakeTransfers = sqliteTable(
  "stake_transfers",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["withdraw", "slash"] }).notNull(),
    nodeId: text("node_id").notNull(),
    accountId: text("account_id").notNull(),
    amountBase: integer("amount_base").notNull(),
    status: text("status", { enum: STAKE_TRANSFER_STATUSES }).notNull(),
    /** A withdrawal may be sent from this time on (request + cooldown). */
    readyAt: integer("ready_at").notNull(),
    /** The wallet it is paid to, fixed when the transfer is claimed (the treasury for a slash). */
    destination: text("destination"),
    /** A slash's evidence: `dispute:<id>` or `verification:<node>:<time>`, and its SHA-256. */
    evidence: text("evidence"),
    evidenceHash: text("evidence_hash"),
    reason: text("reason"),
    wire: text("wire"),
    signature: text("signature"),
    lastValidBlockHeight: integer("last_valid_block_height"),
    signings: integer("signings").notNull().default(0),
    expiredSignatures: text("expired_signatures").notNull().default("[]"),
    /** Preflight refusals of its bytes so far; at the limit it stops being sent (src/chain/sending). */
    sendRefusals: integer("send_refusals").notNull().default(0),
    slot: integer("slot"),
    error: text("error"),
    createdAt: integer("created_at").notNull(),
    doneAt: integer("done_at"),
  },
  (t) => [
    index("stake_transfers_node").on(t.nodeId, t.createdAt),
    index("stake_transfers_status").on(t.status, t.readyAt),
    // One slash per piece of evidence, whoever reports it and however often.
    uniqueIndex("stake_transfers_evidence").on(t.evidence).where(sql`evidence IS NOT NULL`),
    // Zero only for an unbonding withdrawal a slash took whole (it is then `done`, never sent).
    check("stake_transfers_not_negative", sql`${t.amountBase} >= 0`),
  ],
);

export type NodeStakeRow = typeof nodeStakes.$inferSelect;
export type StakeTransferRow = typeof stakeTransfers.$inferSelect;

export const SLASH_ORDER_STATES = ["open", "slashed", "nothing_to_slash"] as const;

/**
 * Slashes the Region object ordered when it rejected a node's verification: written through its
 * outbox (so a crash between the judgement and D1 loses none), then carried out by the payouts
 * object, which slashes each once (the evidence is the key here and unique on the transfer).
 */
export const slashOrders = sqliteTable(
  "slash_orders",
  {
    evidence: text("evidence").primaryKey(),
    nodeId: text("node_id").notNull(),
    reason: text("reason").notNull(),
    /** The verification as the region held it after the rejection (JSON); its SHA-256 is the transfer's. */
    record: text("record").notNull(),
    state: text("state", { enum: SLASH_ORDER_STATES }).notNull().default("open"),
    /** The slash transfer it became; null while open or when the node had nothing at stake. */
    transferId: text("transfer_id"),
    createdAt: integer("created_at").notNull(),
    doneAt: integer("done_at"),
  },
  (t) => [index("slash_orders_open").on(t.state, t.createdAt)],
);

export type SlashOrderRow = typeof slashOrders.$inferSelect;
