import { DurableObject } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { chainConfig } from "../chain/chain-config.js";
import { anchorBatches } from "../chain/receipts/receipt-anchoring.js";
import { type BatchPolicy, cutBatches, DEFAULT_BATCH_POLICY } from "../chain/receipts/receipt-batching.js";
import { mintReceipts } from "../chain/receipts/receipt-minting.js";
import { SolanaClient } from "../chain/solana-client.js";
import { treasurySigner } from "../chain/treasury.js";

/** What one run did, for operators (POST /v1/operator/receipts/run). */
export interface ReceiptRunRecord {
  at: number;
  minted: number;
  batches: number;
  anchored: number;
  pending: number;
  resigned: number;
}

/** Memos still waiting to land are looked at again this soon. */
const CARRY_FORWARD_MS = 2_000;

function positiveVar(raw: unknown, fallback: number): number {
  const value = typeof raw === "string" && raw !== "" ? Number(raw) : fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`expected a positive integer, got ${String(raw)}`);
  return value;
}

/** RECEIPT_BATCH_INTERVAL_MS and RECEIPT_BATCH_MAX_LEAVES (wrangler.toml vars), else the defaults. */
export function batchPolicy(env: Env): BatchPolicy {
  const vars = env as { RECEIPT_BATCH_INTERVAL_MS?: unknown; RECEIPT_BATCH_MAX_LEAVES?: unknown };
  return {
    intervalMs: positiveVar(vars.RECEIPT_BATCH_INTERVAL_MS, DEFAULT_BATCH_POLICY.intervalMs),
    maxLeaves: positiveVar(vars.RECEIPT_BATCH_MAX_LEAVES, DEFAULT_BATCH_POLICY.maxLeaves),
  };
}

/**
 * The one object that issues receipts (named "receipts"). Each run signs a receipt for every new
 * settlement and paid payout, cuts the waiting receipts into Merkle batches (every few minutes, or
 * when a batch is full), and anchors each batch's root in a memo transaction. The cron wakes it
 * every minute; its alarm carries memos that have not landed forward. Runs never overlap.
 */
export class ReceiptObject extends DurableObject<Env> {
  private queue: Promise<unknown> = Promise.resolve();

  /** A run; `cutNow` batches whatever is waiting at once (an operator's run, a test). */
  async run(options: { cutNow?: boolean } = {}): Promise<ReceiptRunRecord> {
    return this.serial(() => this.execute(options.cutNow === true));
  }

  lastRun(): ReceiptRunRecord | null {
    return this.ctx.storage.kv.get<ReceiptRunRecord>("lastRun") ?? null;
  }

  override async alarm(): Promise<void> {
    await this.serial(() => this.execute(false));
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async execute(cutNow: boolean): Promise<ReceiptRunRecord> {
    const chain = chainConfig(this.env);
    const db = drizzle(this.env.DB);
    const signer = await treasurySigner(chain);
    const at = Date.now();
    const policy = batchPolicy(this.env);
    // Up to four full batches a run, so a backlog fills whole trees rather than one per run.
    const minted = await mintReceipts(
      db,
      { seed: chain.treasurySecret.slice(0, 32), address: signer.address },
      at,
      policy.maxLeaves * 4,
    );
    const batches = await cutBatches(db, cutNow ? { ...policy, intervalMs: 0 } : policy, at);
    const anchored = await anchorBatches({
      db,
      chain: new SolanaClient(chain.rpcUrl),
      signer,
      commitment: chain.cluster === "local" ? "confirmed" : "finalized",
      now: Date.now,
    });
    const record: ReceiptRunRecord = { at, minted, batches, ...anchored };
    this.ctx.storage.kv.put("lastRun", record);
    if (anchored.pending > 0) await this.ctx.storage.setAlarm(Date.now() + CARRY_FORWARD_MS);
    return record;
  }
}
