import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/agent/clock.js";
import { LogShipper, MAX_REPORT_JSON_BYTES } from "../../src/agent/log-shipper.js";
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

  it("flushes at once past 64 KiB and never sends a report or a chunk over the limits", async () => {
    const clock = manualClock();
    const batches: LogChunk[][] = [];
    const shipper = new LogShipper({ clock, send: async (chunks) => void batches.push(chunks) });
    shipper.push("stdout", "x\n".repeat(1200 * 1024));
    await shipper.close();
    const sizes = batches.map((batch) => batch.reduce((sum, chunk) => sum + chunk.data.length, 0));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(2400 * 1024);
    for (const batch of batches) {
      expect(Buffer.byteLength(JSON.stringify(batch.map((c) => c.data)))).toBeLessThanOrEqual(
        MAX_REPORT_JSON_BYTES + 1024,
      );
      for (const chunk of batch) expect(chunk.data.length).toBeLessThanOrEqual(MAX_LOG_BATCH_BYTES);
    }
  });

  it("puts what arrives while a report is in flight into the next one: few full reports, in order, flush waits for the send", async () => {
    const clock = manualClock();
    const batches: string[] = [];
    let inFlight = 0;
    let release: () => void = () => {};
    const shipper = new LogShipper({
      clock,
      send: async (chunks) => {
        inFlight++;
        expect(inFlight).toBe(1);
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        batches.push(chunks.map((c) => c.data).join(""));
        inFlight--;
      },
    });
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`);
    // The first 64 KiB go at once; everything after waits for that report, then goes in one.
    shipper.push("stdout", lines.slice(0, 8000).join(""));
    while (inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    for (const line of lines.slice(8000)) shipper.push("stdout", line);
    let flushed = false;
    const flush = shipper.flush().then(() => {
      flushed = true;
    });
    for (let i = 0; i < 10 && batches.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      release();
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (batches.length === 1) expect(flushed).toBe(false);
    }
    await flush;
    expect(batches.join("")).toBe(lines.join(""));
    expect(batches.length).toBe(2);
  });

  it("keeps up to maxPendingBytes unsent, then drops the oldest with a marker saying how much", async () => {
    const clock = manualClock();
    const sent: LogChunk[] = [];
    let release: () => void = () => {};
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    let sending = false;
    const shipper = new LogShipper({
      clock,
      maxPendingBytes: 100_000,
      send: async (chunks) => {
        sending = true;
        await blocked;
        sent.push(...chunks);
      },
    });
    shipper.push("stdout", "a".repeat(70_000)); // flushed at once: in flight, blocked
    while (!sending) await new Promise((resolve) => setTimeout(resolve, 1));
    for (let i = 0; i < 30; i++) shipper.push("stdout", `${String(i).padStart(9, "0")}\n`.repeat(1000));
    release();
    await shipper.close();
    const text = sent.map((c) => c.data).join("");
    const marker =
      /\[meridian: (\d+) bytes of output dropped here; the control plane was not keeping up\]\n/.exec(text);
    expect(marker).not.toBeNull();
    const kept = text.replace(marker?.[0] ?? "", "");
    // The first report whole, then the newest output up to the bound, the oldest of it dropped.
    expect(kept.startsWith("a".repeat(70_000))).toBe(true);
    expect(kept.length + Number(marker?.[1])).toBe(70_000 + 30 * 10_000);
    expect(kept.length - 70_000).toBeLessThanOrEqual(100_000);
    expect(kept.endsWith(`${"000000029\n".repeat(1000)}`)).toBe(true);
    expect(text.indexOf(marker?.[0] ?? "")).toBe(70_000);
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
