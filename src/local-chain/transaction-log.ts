import type { TxRecord } from "./tx-record.js";

export interface SignatureQuery {
  before?: string;
  until?: string;
  limit: number;
  /** Only transactions in slots at or below this (the commitment's slot). */
  maxSlot: number;
}

/** Landed transactions by signature, and each address's signatures in landing order. */
export class TransactionLog {
  private readonly bySignature = new Map<string, TxRecord>();
  private readonly byAddress = new Map<string, string[]>();

  add(record: TxRecord): void {
    this.bySignature.set(record.signature, record);
    for (const key of new Set(record.accountKeys)) {
      const list = this.byAddress.get(key);
      if (list) list.push(record.signature);
      else this.byAddress.set(key, [record.signature]);
    }
  }

  get(signature: string): TxRecord | undefined {
    return this.bySignature.get(signature);
  }

  has(signature: string): boolean {
    return this.bySignature.has(signature);
  }

  get size(): number {
    return this.bySignature.size;
  }

  /**
   * Newest first, as `getSignaturesForAddress` lists them: starting below `before` (exclusive) and
   * stopping at `until` (exclusive), at most `limit`.
   */
  forAddress(address: string, query: SignatureQuery): TxRecord[] {
    const list = this.byAddress.get(address) ?? [];
    const out: TxRecord[] = [];
    let started = query.before === undefined;
    for (let i = list.length - 1; i >= 0 && out.length < query.limit; i--) {
      const signature = list[i];
      if (signature === undefined) continue;
      if (!started) {
        if (signature === query.before) started = true;
        continue;
      }
      if (signature === query.until) break;
      const record = this.bySignature.get(signature);
      if (record && record.slot <= query.maxSlot) out.push(record);
    }
    return out;
  }
}
