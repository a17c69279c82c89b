import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { TxRecord } from "./tx-record.js";

/** An account's state as the chain keeps it; `null` where an account does not exist. */
export interface AccountSnapshot {
  lamports: bigint;
  owner: string;
  executable: boolean;
  data: Uint8Array;
}

/** One account write: its state before and after, at the slot it happened in (for reads at a commitment). */
export interface AccountWrite {
  slot: number;
  address: string;
  pre: AccountSnapshot | null;
  post: AccountSnapshot | null;
}

export interface ChainHead {
  genesisHash: string;
  tip: number;
  createdAt: number;
}

interface StoredSnapshot {
  lamports: string;
  owner: string;
  executable: boolean;
  data: string;
}

function toStored(snapshot: AccountSnapshot | null): StoredSnapshot | null {
  if (!snapshot) return null;
  return {
    lamports: snapshot.lamports.toString(),
    owner: snapshot.owner,
    executable: snapshot.executable,
    data: Buffer.from(snapshot.data).toString("base64"),
  };
}

function fromStored(stored: StoredSnapshot | null): AccountSnapshot | null {
  if (!stored) return null;
  return {
    lamports: BigInt(stored.lamports),
    owner: stored.owner,
    executable: stored.executable,
    data: new Uint8Array(Buffer.from(stored.data, "base64")),
  };
}

function readLines(file: string): unknown[] {
  if (!existsSync(file)) return [];
  const out: unknown[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.length === 0) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // A torn last line from a crash mid-append: everything before it is whole.
    }
  }
  return out;
}

/**
 * The chain on disk: the head (genesis hash, tip slot), an append-only log of account writes and one
 * of transactions. Every write is appended synchronously before the RPC answers, so a restart (or a
 * crash) loses nothing that a client was told about; replaying the account log, last write wins,
 * rebuilds the state, and the pre-images of writes newer than `finalized` rebuild the commitment view.
 */
export class ChainStore {
  private readonly headFile: string;
  private readonly accountsFile: string;
  private readonly transactionsFile: string;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.headFile = path.join(dir, "head.json");
    this.accountsFile = path.join(dir, "accounts.jsonl");
    this.transactionsFile = path.join(dir, "transactions.jsonl");
  }

  readHead(): ChainHead | null {
    if (!existsSync(this.headFile)) return null;
    return JSON.parse(readFileSync(this.headFile, "utf8")) as ChainHead;
  }

  writeHead(head: ChainHead): void {
    const temp = `${this.headFile}.tmp`;
    writeFileSync(temp, JSON.stringify(head));
    renameSync(temp, this.headFile);
  }

  appendAccountWrites(writes: AccountWrite[]): void {
    if (writes.length === 0) return;
    const lines = writes.map((w) =>
      JSON.stringify({ slot: w.slot, address: w.address, pre: toStored(w.pre), post: toStored(w.post) }),
    );
    appendFileSync(this.accountsFile, `${lines.join("\n")}\n`);
  }

  readAccountWrites(): AccountWrite[] {
    return readLines(this.accountsFile).map((raw) => {
      const line = raw as {
        slot: number;
        address: string;
        pre: StoredSnapshot | null;
        post: StoredSnapshot | null;
      };
      return {
        slot: line.slot,
        address: line.address,
        pre: fromStored(line.pre),
        post: fromStored(line.post),
      };
    });
  }

  appendTransaction(record: TxRecord): void {
    appendFileSync(this.transactionsFile, `${JSON.stringify(record)}\n`);
  }

  readTransactions(): TxRecord[] {
    return readLines(this.transactionsFile) as TxRecord[];
  }

  /** Rewrites the account log as one line per account (its latest write), keeping it from growing forever. */
  compactAccounts(latest: AccountWrite[]): void {
    const temp = `${this.accountsFile}.tmp`;
    writeFileSync(
      temp,
      latest
        .map(
          (w) =>
            `${JSON.stringify({ slot: w.slot, address: w.address, pre: toStored(w.pre), post: toStored(w.post) })}\n`,
        )
        .join(""),
    );
    renameSync(temp, this.accountsFile);
  }
}
