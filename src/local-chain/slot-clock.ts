import { createHash } from "node:crypto";
import { getBase58Decoder } from "@solana/kit";

export type Commitment = "processed" | "confirmed" | "finalized";

/** How many blocks a blockhash stays usable, as on a cluster (`lastValidBlockHeight` = its height + 150). */
export const BLOCKHASH_VALIDITY = 150;
/** Supermajority votes land one slot behind the tip on a healthy cluster. */
const CONFIRMATION_LAG = 1;
/** Blockhashes kept for lookup: the validity window and some slack for the commitment lag. */
const KEPT_SLOTS = 512;

/**
 * The chain's slots: one block per slot (block height = slot, no skipped slots), each with a
 * blockhash derived from the genesis hash, so a restart recomputes the same hashes and a blockhash a
 * client holds stays valid across it. `confirmed` lags the tip by one slot, `finalized` by a
 * configured number (32 on a cluster).
 */
export class SlotClock {
  private readonly hashes = new Map<string, number>();
  private readonly times = new Map<number, number>();
  private current: number;

  constructor(
    private readonly genesisHash: string,
    tip: number,
    private readonly finalityLag: number,
    private readonly now: () => number,
  ) {
    this.current = tip;
    for (let slot = Math.max(0, tip - KEPT_SLOTS); slot <= tip; slot++)
      this.hashes.set(this.blockhashOf(slot), slot);
    this.times.set(tip, now());
  }

  get tip(): number {
    return this.current;
  }

  blockhashOf(slot: number): string {
    const digest = createHash("sha256").update(this.genesisHash).update(`:${slot}`).digest();
    return getBase58Decoder().decode(digest);
  }

  /** The slot a recent blockhash belongs to, if it is one this chain produced lately. */
  slotOfBlockhash(hash: string): number | undefined {
    return this.hashes.get(hash);
  }

  /** A blockhash is usable while the block height has not passed its height + 150. */
  isBlockhashValid(hash: string): boolean {
    const slot = this.hashes.get(hash);
    return slot !== undefined && this.current <= slot + BLOCKHASH_VALIDITY;
  }

  commitmentSlot(commitment: Commitment): number {
    if (commitment === "processed") return this.current;
    if (commitment === "confirmed") return Math.max(0, this.current - CONFIRMATION_LAG);
    return Math.max(0, this.current - this.finalityLag);
  }

  /** Unix seconds of a slot's block, as `blockTime` reports it. */
  blockTime(slot: number): number {
    return Math.floor((this.times.get(slot) ?? this.now()) / 1000);
  }

  advance(): number {
    this.current += 1;
    this.hashes.set(this.blockhashOf(this.current), this.current);
    this.times.set(this.current, this.now());
    const old = this.current - KEPT_SLOTS;
    if (old >= 0) {
      this.hashes.delete(this.blockhashOf(old));
      this.times.delete(old);
    }
    return this.current;
  }
}
