import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { noEffects } from "../../src/durable/effects.js";
import { Outbox, type OutboxEntry } from "../../src/durable/outbox.js";
import type { RegionObject } from "../../src/durable/region-object.js";
import { RegionWriter, type Step } from "../../src/durable/region-writer.js";

/**
 * An agent's answer waits in D1 only for the records its own step wrote (issue 8): not for
 * records other steps queued after it. The Region object's real storage and the real local D1,
 * with each D1 batch held until the test lets it go, so the order of events is what is asserted,
 * never a duration.
 */

/** The real D1, each batch held at a gate the test opens; what each batch carried is kept. */
class GatedD1 {
  readonly batches: number[] = [];
  private readonly gates: (() => void)[] = [];
  private arrived: (() => void) | null = null;

  prepare(query: string): D1PreparedStatement {
    return env.DB.prepare(query);
  }

  async batch<T>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    this.batches.push(statements.length);
    await new Promise<void>((open) => {
      this.gates.push(open);
      this.arrived?.();
    });
    return env.DB.batch<T>(statements);
  }

  /** Resolves once a batch waits at the gate. */
  async waiting(): Promise<void> {
    while (this.gates.length === 0) await new Promise<void>((resolve) => (this.arrived = resolve));
  }

  /** Lets the oldest waiting batch through. */
  async release(): Promise<void> {
    await this.waiting();
    this.gates.shift()?.();
  }
}

/** A record D1 takes without touching any row: the attempt is not there. */
const record = (i: number): OutboxEntry => ({
  kind: "attempt-end",
  id: `att_outbox_order_${i}`,
  startedAt: null,
  endedAt: 1,
  exitCode: 0,
  outcome: "succeeded",
});

function stepOf(outbox: OutboxEntry[]): Step {
  return { effects: { ...noEffects(), outbox }, standing: { puts: [], deletes: [] }, nextWakeAt: () => null };
}

/**
 * Yields to the event loop (D1's answers arrive there). A cached storage read would not do: it
 * resolves as a microtask, and a loop of those starves the I/O it waits for.
 */
const yieldToIo = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** Marks when a promise settles, to compare orders without timing anything. */
function track(promise: Promise<void>, order: string[], name: string): { done: () => boolean } {
  let settled = false;
  void promise.then(() => {
    settled = true;
    order.push(name);
  });
  return { done: () => settled };
}

function regionStub(name: string): DurableObjectStub<RegionObject> {
  return env.REGION.get(env.REGION.idFromName(name));
}

describe("the outbox answers a step once its own records are in D1", () => {
  it("answers the first step while records queued after it are still being sent", async () => {
    await runInDurableObject(regionStub("outbox-order-1"), async (_instance, state) => {
      const db = new GatedD1();
      const outbox = new Outbox(state.storage, db as unknown as D1Database);
      await outbox.load();
      const writer = new RegionWriter(state.storage, outbox, 5_000, () => "outbox-order-1");
      const order: string[] = [];

      // Step A: one record; its flush's first batch reaches D1 and is held there.
      const a = stepOf([record(0)]);
      const throughA = await writer.write(a);
      const answerA = track(writer.flushAndArm(a, throughA), order, "A");
      await db.waiting();
      // Step B, taken while A's batch is at D1: 100 records (two batches of up to 64).
      const b = stepOf(Array.from({ length: 100 }, (_, i) => record(i + 1)));
      const throughB = await writer.write(b);
      const answerB = track(writer.flushAndArm(b, throughB), order, "B");

      await db.release(); // A's batch: only A's record.
      await db.waiting(); // the loop goes on with B's records …
      await yieldToIo(); // … and A's answer has had every chance to run.
      expect(answerA.done()).toBe(true);
      expect(answerB.done()).toBe(false);
      expect(db.batches).toEqual([1, 64]);

      await db.release();
      await db.release();
      while (!answerB.done()) await yieldToIo();
      expect(order).toEqual(["A", "B"]);
      expect(db.batches).toEqual([1, 64, 36]);
      expect(outbox.pending()).toBe(0);
    });
  });

  it("does not hold a step that wrote no record behind the records pending", async () => {
    await runInDurableObject(regionStub("outbox-order-2"), async (_instance, state) => {
      const db = new GatedD1();
      const outbox = new Outbox(state.storage, db as unknown as D1Database);
      await outbox.load();
      const writer = new RegionWriter(state.storage, outbox, 5_000, () => "outbox-order-2");
      const order: string[] = [];

      const submit = stepOf([record(200), record(201)]);
      const answerSubmit = track(writer.flushAndArm(submit, await writer.write(submit)), order, "submit");
      await db.waiting();
      // A heartbeat: it records nothing for D1, so its answer owes D1 nothing.
      const heartbeat = stepOf([]);
      const through = await writer.write(heartbeat);
      expect(through).toBeNull();
      await writer.flushAndArm(heartbeat, through);
      order.push("heartbeat");
      expect(answerSubmit.done()).toBe(false);

      await db.release();
      while (!answerSubmit.done()) await yieldToIo();
      expect(order).toEqual(["heartbeat", "submit"]);
      // The alarm's save waits for everything pending: nothing is left.
      await writer.flushAndArm(stepOf([]), "all");
      expect(outbox.pending()).toBe(0);
    });
  });

  it("sends records left by an earlier instance first, and answers a new step after them", async () => {
    await runInDurableObject(regionStub("outbox-order-3"), async (_instance, state) => {
      // Two records an earlier instance wrote and never sent.
      const earlier = new Outbox(state.storage, env.DB);
      await state.storage.put(earlier.entries(record(300), record(301)));

      const db = new GatedD1();
      const outbox = new Outbox(state.storage, db as unknown as D1Database);
      await outbox.load();
      expect(outbox.pending()).toBe(2);
      const writer = new RegionWriter(state.storage, outbox, 5_000, () => "outbox-order-3");
      const step = stepOf([record(302)]);
      const order: string[] = [];
      const answer = track(writer.flushAndArm(step, await writer.write(step)), order, "step");
      await db.release();
      while (!answer.done()) await yieldToIo();
      // The outbox is ordered: the new record went in the same batch, after the two left over.
      expect(db.batches).toEqual([3]);
      expect(outbox.pending()).toBe(0);
    });
  });
});
