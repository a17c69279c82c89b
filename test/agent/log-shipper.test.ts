import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/agent/clock.js";
import { LogShipper } from "../../src/agent/log-shipper.js";
import { type LogChunk, MAX_LOG_BATCH_BYTES } from "../../src/shared/agent-protocol.js";

/** A clock whose timers fire only when the test says so. */
function manualClock(): Clock & { fire(): void } {
  let timers: (() => void)[] = [];
  return {
    now: () => 1_000,
    sleep: () => Promise.resolve(),
    setTimer: (fn) => {
      timers.push(fn);
      return () => {
        timers = timers.filter((timer) => timer !== fn);
      };
    },
    fire: () => {
      const due = timers;
      timers = [];
      for (const fn of due) fn();
    },
  };
}

describe("log shipper", () => {
  it("holds small output until the flush timer, then sends it as one batch in order", async () => {
    const clock = manualClock();
    const batches: LogChunk[][] = [];
    const shipper = new LogShipper({ clock, send: async (chunks) => void batches.push(chunks) });
    shipper.push("stdout", "one\n");
    shipper.push("stderr", "two\n");
    await Promise.resolve();
    expect(batches).toEqual([]);
    clock.fire();
    await shipper.flush();
    expect(batches).toEqual([
      [
        { stream: "stdout", data: "one\n", at: 1_000 },
        { stream: "stderr", data: "two\n", at: 1_000 },
      ],
    ]);
  });

  it("flushes at once past 64 KiB and never sends a batch over the limit", async () => {
    const clock = manualClock();
    const batches: LogChunk[][] = [];
    const shipper = new LogShipper({ clock, send: async (chunks) => void batches.push(chunks) });
    shipper.push("stdout", "x".repeat(600 * 1024));
    await shipper.close();
    const sizes = batches.map((batch) => batch.reduce((sum, chunk) => sum + chunk.data.length, 0));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(600 * 1024);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_LOG_BATCH_BYTES);
  });

  it("sends nothing before it is released", async () => {
    let release: () => void = () => {};
    const after = new Promise<void>((resolve) => {
      release = resolve;
    });
    const sent: string[] = [];
    const shipper = new LogShipper({
      clock: manualClock(),
      after,
      send: async (chunks) => void sent.push(...chunks.map((c) => c.data)),
    });
    shipper.push("stdout", "early\n");
    const flushed = shipper.flush();
    await Promise.resolve();
    expect(sent).toEqual([]);
    release();
    await flushed;
    expect(sent).toEqual(["early\n"]);
  });
});
