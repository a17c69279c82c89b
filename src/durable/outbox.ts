import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/d1";
import { jobAttempts, nodes } from "../../schema/tables.js";
import { registrationInsert } from "../chain/receipts/registration-records.js";
import { usageStatementInsert } from "../chain/receipts/usage-signatures.js";
import { slashOrderStatement } from "../chain/staking/slash-orders.js";
import type { LedgerDb } from "../ledger/ledger-db.js";
import { releaseHoldStatements } from "../ledger/release.js";
import { settleAttemptStatements } from "../ledger/settlement.js";
import { storageChargeStatements } from "../ledger/storage-charge.js";
import { transitionStatements } from "./job-rows.js";
import type { OutboxEntry } from "./outbox-entry.js";
import { STORAGE_KEYS } from "./storage-keys.js";

/**
 * Records the Region object owes D1, kept in its own storage until D1 has them. A state change is
 * written to storage (with its outbox entry) before the reply, then flushed to D1 in order; a failed
 * flush is retried by the alarm. Every statement is idempotent, so a flush that ran twice is harmless.
 */

export type { JobPatch, OutboxEntry } from "./outbox-entry.js";

const KEY_PREFIX = STORAGE_KEYS.outbox;

/** A caller waiting until every entry numbered below `through` is in D1. */
interface Waiter {
  through: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class Outbox {
  private nextSeq = 0;
  /** Every entry numbered below this is in D1 (or was refused by it and set aside). */
  private sent = 0;
  private readonly waiters: Waiter[] = [];
  private running = false;
  private failures = 0;
  private waiting = 0;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly db: D1Database,
  ) {}

  async load(): Promise<void> {
    const pending = await this.storage.list({ prefix: KEY_PREFIX });
    this.waiting = pending.size;
    for (const key of pending.keys())
      this.nextSeq = Math.max(this.nextSeq, Number(key.slice(KEY_PREFIX.length)) + 1);
    const [first] = pending.keys();
    this.sent = first === undefined ? this.nextSeq : Number(first.slice(KEY_PREFIX.length));
  }

  /** Storage entries to write, atomically, together with the state change they record. */
  entries(...items: OutboxEntry[]): Record<string, OutboxEntry> {
    const out: Record<string, OutboxEntry> = {};
    for (const item of items) out[`${KEY_PREFIX}${String(this.nextSeq++).padStart(12, "0")}`] = item;
    this.waiting += items.length;
    return out;
  }

  /** The number the next entry gets: flushing through it sends every entry handed out so far. */
  tail(): number {
    return this.nextSeq;
  }

  /** Entries written and not yet in D1; kept in memory so asking costs no storage read. */
  pending(): number {
    return this.waiting;
  }

  /**
   * Resolves once every entry numbered below `through` (default: all handed out so far) is in D1.
   * The entries go in order, in one flush loop shared by every caller; a caller is answered as soon
   * as its own entries (and so all before them) are in, not when the queue behind it has drained:
   * under a burst, writes queued after a step's no longer hold up its answer.
   */
  flush(through: number = this.nextSeq): Promise<void> {
    if (this.sent >= through) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ through, resolve, reject }));
    this.run();
    return done;
  }

  private run(): void {
    if (this.running) return;
    this.running = true;
    void (async () => {
      try {
        while (this.waiters.length > 0) {
          await this.flushOnce();
          this.answerWaiters();
        }
      } catch (error) {
        for (const waiter of this.waiters.splice(0)) waiter.reject(error);
      } finally {
        this.running = false;
      }
    })();
  }

  private answerWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter && waiter.through <= this.sent) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  private async flushOnce(): Promise<void> {
    // Every entry numbered below this had its storage write issued before the list below runs
    // (entries are handed out and written without an await between), so a short list saw them all.
    const handedOut = this.nextSeq;
    const pending = await this.storage.list<OutboxEntry>({ prefix: KEY_PREFIX, limit: 64 });
    if (pending.size === 0) {
      this.sent = Math.max(this.sent, handedOut);
      return;
    }
    const db = drizzle(this.db);
    const statements: BatchItem<"sqlite">[] = [];
    for (const entry of pending.values()) statements.push(...toStatements(db, entry));
    const [first, ...rest] = statements;
    try {
      if (first) await db.batch([first, ...rest]);
    } catch (error) {
      this.failures++;
      // A batch that keeps failing would block every later record: after a few tries, send the
      // entries one at a time and set aside (logged) only the ones D1 refuses.
      if (this.failures < 3) throw error;
      await this.flushOneByOne(db, pending);
    }
    this.failures = 0;
    const keys = [...pending.keys()];
    await this.storage.delete(keys);
    this.waiting = Math.max(0, this.waiting - pending.size);
    const last = Number(keys[keys.length - 1]?.slice(KEY_PREFIX.length) ?? -1);
    this.sent = Math.max(this.sent, last + 1, pending.size < 64 ? handedOut : 0);
  }

  private async flushOneByOne(db: LedgerDb, pending: Map<string, OutboxEntry>): Promise<void> {
    for (const [key, entry] of pending) await sendEach(db, key, entry);
  }
}

async function sendEach(db: LedgerDb, key: string, entry: OutboxEntry): Promise<void> {
  const [first, ...rest] = toStatements(db, entry);
  if (!first) return;
  try {
    await db.batch([first, ...rest]);
  } catch (error) {
    console.error(
      JSON.stringify({ msg: "outbox entry refused by D1; dropped", key, entry, error: String(error) }),
    );
  }
}

function toStatements(db: LedgerDb, entry: OutboxEntry): BatchItem<"sqlite">[] {
  switch (entry.kind) {
    case "transition":
      return transitionStatements(db, entry);
    case "attempt-start":
      return [
        db
          .insert(jobAttempts)
          .values({
            id: entry.id,
            jobId: entry.jobId,
            nodeId: entry.nodeId,
            fencing: entry.fencing,
            gpuUuids: entry.gpuUuids,
            pricePerGpuHourMicros: entry.pricePerGpuHourMicros,
            assignedAt: entry.assignedAt,
          })
          .onConflictDoNothing(),
      ];
    case "attempt-end":
      return [
        db
          .update(jobAttempts)
          .set({
            startedAt: entry.startedAt,
            endedAt: entry.endedAt,
            exitCode: entry.exitCode,
            outcome: entry.outcome,
            containerId: entry.containerId ?? null,
            imageDigest: entry.imageDigest ?? null,
            errorKind: entry.errorKind ?? null,
          })
          .where(eq(jobAttempts.id, entry.id)),
      ];
    case "settle":
      return settleAttemptStatements(db, entry.settlement, entry.fees, entry.at);
    case "storage-charge":
      return storageChargeStatements(db, entry.charge, entry.at);
    case "release":
      return releaseHoldStatements(db, { accountId: entry.accountId, jobId: entry.jobId }, entry.at);
    case "slash-order":
      return [slashOrderStatement(db, entry.order)];
    case "usage":
      return [usageStatementInsert(db, entry.usage, entry.countersignature, entry.at)];
    case "registration":
      return [registrationInsert(db, entry.record)];
    case "node": {
      const { node } = entry;
      const row = {
        publicKey: node.publicKey,
        region: node.region,
        hardware: node.hardware,
        gpuCount: node.hardware.gpus.length,
        pricePerGpuHourMicros: node.pricePerGpuHourMicros,
        // Null (the table's rate) clears a price an earlier registration set.
        pricePerVcpuHourMicros: node.pricePerVcpuHourMicros ?? null,
        labels: node.labels,
        agentVersion: node.agentVersion,
        updatedAt: entry.at,
      };
      return [
        db
          .insert(nodes)
          .values({ id: node.id, registeredAt: node.registeredAt, ...row })
          .onConflictDoUpdate({ target: nodes.id, set: row }),
      ];
    }
  }
}
