import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/d1";
import { jobAttempts, nodes } from "../../schema/tables.js";
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

export class Outbox {
  private nextSeq = 0;
  private flushing: Promise<void> | null = null;
  private again = false;
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
  }

  /** Storage entries to write, atomically, together with the state change they record. */
  entries(...items: OutboxEntry[]): Record<string, OutboxEntry> {
    const out: Record<string, OutboxEntry> = {};
    for (const item of items) out[`${KEY_PREFIX}${String(this.nextSeq++).padStart(12, "0")}`] = item;
    this.waiting += items.length;
    return out;
  }

  /** Entries written and not yet in D1; kept in memory so asking costs no storage read. */
  pending(): number {
    return this.waiting;
  }

  /** Sends everything pending to D1; concurrent callers share one ordered flush loop. */
  flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      do {
        this.again = false;
        await this.flushOnce();
      } while (this.again);
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const pending = await this.storage.list<OutboxEntry>({ prefix: KEY_PREFIX, limit: 64 });
    if (pending.size === 0) return;
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
    await this.storage.delete([...pending.keys()]);
    this.waiting = Math.max(0, this.waiting - pending.size);
    if (pending.size === 64) this.again = true;
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
          })
          .where(eq(jobAttempts.id, entry.id)),
      ];
    case "settle":
      return settleAttemptStatements(db, entry.settlement, entry.fees, entry.at);
    case "storage-charge":
      return storageChargeStatements(db, entry.charge, entry.at);
    case "release":
      return releaseHoldStatements(db, { accountId: entry.accountId, jobId: entry.jobId }, entry.at);
    case "node": {
      const { node } = entry;
      const row = {
        publicKey: node.publicKey,
        region: node.region,
        hardware: node.hardware,
        gpuCount: node.hardware.gpus.length,
        pricePerGpuHourMicros: node.pricePerGpuHourMicros,
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
