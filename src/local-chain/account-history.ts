import type { AccountSnapshot, AccountWrite } from "./chain-store.js";

/**
 * Account writes newer than `finalized`, so a read at `confirmed` or `finalized` sees the state as of
 * that slot: the pre-image of the oldest write after the slot is what the account was then.
 */
export class AccountHistory {
  private readonly writes = new Map<string, AccountWrite[]>();

  record(write: AccountWrite): void {
    const list = this.writes.get(write.address);
    if (list) list.push(write);
    else this.writes.set(write.address, [write]);
  }

  /** The account as of `slot`, given its current state. */
  at(address: string, current: AccountSnapshot | null, slot: number): AccountSnapshot | null {
    const list = this.writes.get(address);
    if (!list) return current;
    const later = list.find((write) => write.slot > slot);
    return later ? later.pre : current;
  }

  /** Addresses with writes after `slot`: candidates whose view at `slot` differs from now. */
  changedAfter(slot: number): string[] {
    const out: string[] = [];
    for (const [address, list] of this.writes) {
      if (list.some((write) => write.slot > slot)) out.push(address);
    }
    return out;
  }

  /** Forgets writes at or below the finalized slot: every commitment sees them already. */
  prune(finalizedSlot: number): void {
    for (const [address, list] of this.writes) {
      const kept = list.filter((write) => write.slot > finalizedSlot);
      if (kept.length === 0) this.writes.delete(address);
      else if (kept.length !== list.length) this.writes.set(address, kept);
    }
  }
}
