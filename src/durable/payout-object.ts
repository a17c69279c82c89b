import { DurableObject } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import type { StakeTransferRow } from "../../schema/staking.js";
import { burnMinMicros } from "../chain/burns/burn-config.js";
import { type BurnRunResult, runBurns } from "../chain/burns/burn-runner.js";
import { chainConfig } from "../chain/chain-config.js";
import { payoutConfig } from "../chain/payouts/payout-config.js";
import { type PayoutRunResult, runPayouts } from "../chain/payouts/payout-runner.js";
import { SolanaClient } from "../chain/solana-client.js";
import { type SettledSlashes, settleSlashOrders } from "../chain/staking/slash-orders.js";
import { slashStake } from "../chain/staking/stake-book.js";
import { stakeConfig } from "../chain/staking/stake-config.js";
import { runStakeTransfers, type StakeRunResult } from "../chain/staking/stake-runner.js";
import { treasurySigner } from "../chain/treasury.js";
import { pushStakeTier } from "../worker/stake-tier.js";
import { asResult, type RpcResult } from "./rpc-result.js";

/** What the last scheduled run did, for operators (GET /v1/operator/payouts). */
export interface PayoutRunRecord extends PayoutRunResult {
  at: number;
  trigger: "schedule" | "operator" | "alarm";
}

/** What the last burn run did (POST /v1/operator/burns/run). */
export interface BurnRunRecord extends BurnRunResult {
  at: number;
}

/** What the last stake run did (POST /v1/operator/staking/run). */
export interface StakeRunRecord extends StakeRunResult {
  at: number;
}

/** A slash, decided by the Worker from checked evidence; the object only orders it with stake runs. */
export interface SlashOrder {
  nodeId: string;
  shareBps: number;
  evidence: string;
  evidenceHash: string;
  reason: string;
  now: number;
}

/** Transactions still waiting to land are looked at again this soon. */
const CARRY_FORWARD_MS = 2_000;
/** A cron that fires a little early still counts as the day's (or week's) run. */
const SCHEDULE_SLACK_MS = 5 * 60_000;

/**
 * The one object that pays providers (named "payouts"). The cron trigger wakes it; it runs when a
 * period (a day, or a week) has passed since the last scheduled run, and its alarm carries
 * transactions that have not landed yet forward until they do or expire. Runs never overlap: each
 * waits for the one before it, so a second signing of a batch cannot start while one is in flight.
 * The same runs (and the same queue) buy back and burn MRD with the ledger's burn reserve: both
 * sign with the treasury key, so one object orders everything it signs. So do stake withdrawals and
 * slashes: a slash is decided here, between stake runs, so it never races a withdrawal's claim.
 */
export class PayoutObject extends DurableObject<Env> {
  private queue: Promise<unknown> = Promise.resolve();

  /** The cron's wake-up: slashes the regions ordered, then a scheduled run if one is due, else nothing (null). */
  async wake(now: number = Date.now()): Promise<PayoutRunRecord | null> {
    // A slash that cannot be carried out now stays open for the next minute; payouts go on.
    await this.slashOrders().catch((error: unknown) =>
      console.error(JSON.stringify({ msg: "slash orders not settled", error: String(error) })),
    );
    const last = this.ctx.storage.kv.get<number>("lastScheduledAt");
    if (last !== undefined && now - last < payoutConfig(this.env).periodMs - SCHEDULE_SLACK_MS) return null;
    return this.serial(() => this.execute("schedule"));
  }

  /** An operator's run now, whatever the schedule says. */
  async runNow(): Promise<PayoutRunRecord> {
    return this.serial(() => this.execute("operator"));
  }

  /** An operator's burn run now, whatever the schedule says. */
  async burnNow(): Promise<BurnRunRecord> {
    return this.serial(() => this.burn(true));
  }

  /** An operator's stake run now: due withdrawals claimed, open transfers sent. */
  async stakeNow(): Promise<StakeRunRecord> {
    return this.serial(() => this.stake(true));
  }

  /** Records a slash (its transfer to the treasury is sent by the stake run that follows at once). */
  async slash(order: SlashOrder): Promise<RpcResult<{ transfer: StakeTransferRow; run: StakeRunRecord }>> {
    return this.serial(() =>
      asResult(async () => {
        const chain = chainConfig(this.env);
        const treasury = await treasurySigner(chain);
        const transfer = await slashStake(drizzle(this.env.DB), { ...order, treasury: treasury.address });
        return { transfer, run: await this.stake(false) };
      }),
    );
  }

  /**
   * Carries out the slashes regions ordered for rejected verifications (every minute, from the
   * cron), sends them to the treasury, and tells the slashed nodes' regions their new tiers.
   */
  async slashOrders(): Promise<SettledSlashes & { run: StakeRunRecord | null }> {
    return this.serial(async () => {
      const chain = chainConfig(this.env);
      if (!chain.stakeVault) return { slashed: [], nothingToSlash: 0, run: null };
      const treasury = await treasurySigner(chain);
      const settled = await settleSlashOrders(drizzle(this.env.DB), {
        shareBps: stakeConfig(this.env).slashShareBps,
        treasury: treasury.address,
        now: Date.now(),
      });
      if (settled.slashed.length === 0) return { ...settled, run: null };
      const run = await this.stake(false);
      for (const nodeId of new Set(settled.slashed)) await pushStakeTier(this.env, nodeId);
      return { ...settled, run };
    });
  }

  lastRun(): PayoutRunRecord | null {
    return this.ctx.storage.kv.get<PayoutRunRecord>("lastRun") ?? null;
  }

  override async alarm(): Promise<void> {
    await this.serial(() => this.execute("alarm"));
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async execute(trigger: PayoutRunRecord["trigger"]): Promise<PayoutRunRecord> {
    const chain = chainConfig(this.env);
    const config = payoutConfig(this.env);
    const at = Date.now();
    const result = await runPayouts({
      db: drizzle(this.env.DB),
      chain: new SolanaClient(chain.rpcUrl),
      treasury: await treasurySigner(chain),
      usdcMint: chain.usdcMint,
      minMicros: config.minMicros,
      commitment: chain.cluster === "local" ? "confirmed" : "finalized",
      claim: trigger !== "alarm",
      now: Date.now,
    });
    const record: PayoutRunRecord = { ...result, at, trigger };
    if (trigger === "schedule") this.ctx.storage.kv.put("lastScheduledAt", at);
    this.ctx.storage.kv.put("lastRun", record);
    // An operator's payout run leaves burns to their own route and to the schedule.
    const burn =
      trigger === "operator" || !chainConfig(this.env).burnVault
        ? null
        : await this.burn(trigger === "schedule");
    const stake =
      trigger === "operator" || !chain.stakeVault ? null : await this.stake(trigger === "schedule");
    if (result.pending > 0 || (burn?.pending ?? 0) > 0 || (stake?.pending ?? 0) > 0)
      await this.ctx.storage.setAlarm(Date.now() + CARRY_FORWARD_MS);
    return record;
  }

  private async burn(claim: boolean): Promise<BurnRunRecord> {
    const chain = chainConfig(this.env);
    const at = Date.now();
    // The route checks this first; an error thrown here would reach it as a plain Error.
    if (!chain.burnVault) throw new Error("BURN_VAULT is not set");
    const result = await runBurns({
      db: drizzle(this.env.DB),
      chain: new SolanaClient(chain.rpcUrl),
      treasury: await treasurySigner(chain),
      mrdMint: chain.mrdMint,
      burnVault: chain.burnVault,
      rateMicros: chain.mrdUsdMicros,
      minMicros: burnMinMicros(this.env),
      commitment: chain.cluster === "local" ? "confirmed" : "finalized",
      claim,
      now: Date.now,
    });
    const record: BurnRunRecord = { ...result, at };
    this.ctx.storage.kv.put("lastBurnRun", record);
    if (result.pending > 0) await this.ctx.storage.setAlarm(Date.now() + CARRY_FORWARD_MS);
    return record;
  }

  private async stake(claim: boolean): Promise<StakeRunRecord> {
    const chain = chainConfig(this.env);
    const at = Date.now();
    if (!chain.stakeVault) throw new Error("STAKE_VAULT is not set");
    const result = await runStakeTransfers({
      db: drizzle(this.env.DB),
      chain: new SolanaClient(chain.rpcUrl),
      treasury: await treasurySigner(chain),
      mrdMint: chain.mrdMint,
      stakeVault: chain.stakeVault,
      commitment: chain.cluster === "local" ? "confirmed" : "finalized",
      claim,
      now: Date.now,
    });
    const record: StakeRunRecord = { ...result, at };
    this.ctx.storage.kv.put("lastStakeRun", record);
    if (result.pending > 0) await this.ctx.storage.setAlarm(Date.now() + CARRY_FORWARD_MS);
    return record;
  }
}
