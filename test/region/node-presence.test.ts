import { describe, expect, it } from "vitest";
import { NodePresence } from "../../src/durable/node-presence.js";

const POLICY = { reconnectWindowMs: 5_000, minSilenceMs: 2_000, phiThreshold: 8 };

/** A node that polls `n` times: each poll held `holdMs`, then the next after `gap(i)` ms. */
function rhythm(
  presence: NodePresence,
  start: number,
  n: number,
  holdMs: number,
  gap: (i: number) => number,
): number {
  let at = start;
  for (let i = 0; i < n; i++) {
    presence.pollOpened("node_a", `p${i}`, at);
    at += holdMs;
    presence.pollAnswered("node_a", `p${i}`, at);
    at += gap(i);
  }
  return at;
}

describe("node presence", () => {
  it("keeps a node with a held poll present however long it is held", () => {
    const presence = new NodePresence(POLICY);
    presence.pollOpened("node_a", "p", 0);
    expect(presence.absence("node_a", 600_000)).toBeNull();
    expect(presence.deadline("node_a")).toBeNull();
  });

  it("gives a dropped connection the reconnect window, and forgives it when the node polls within it", () => {
    const presence = new NodePresence(POLICY);
    presence.pollOpened("node_a", "p1", 0);
    expect(presence.pollDropped("node_a", "p1", 1_000)).toBe(true);
    expect(presence.dropped("node_a")).toBe(true);
    expect(presence.absence("node_a", 5_999)).toBeNull();
    expect(presence.deadline("node_a")).toBe(6_000);
    expect(presence.absence("node_a", 6_000)).toEqual({ kind: "dropped", nodeId: "node_a", windowMs: 5_000 });
    // Back within the window instead: present again.
    const other = new NodePresence(POLICY);
    other.pollOpened("node_a", "p1", 0);
    other.pollDropped("node_a", "p1", 1_000);
    other.pollOpened("node_a", "p2", 4_000);
    expect(other.dropped("node_a")).toBe(false);
    expect(other.absence("node_a", 60_000)).toBeNull();
  });

  it("ignores a drop for a poll that was already answered", () => {
    const presence = new NodePresence(POLICY);
    presence.pollOpened("node_a", "p1", 0);
    presence.pollAnswered("node_a", "p1", 100);
    expect(presence.pollDropped("node_a", "p1", 150)).toBe(false);
    expect(presence.dropped("node_a")).toBe(false);
  });

  it("catches a silent node after a few of its usual gaps, and judges a slow link by its own rhythm", () => {
    // A quick node: polls again 50–150 ms after each answer.
    const quick = new NodePresence(POLICY);
    const end = rhythm(quick, 0, 40, 1_000, (i) => 50 + (i % 3) * 50);
    const quickDeadline = quick.deadline("node_a");
    // Its last poll was answered 50 ms before `end`; under the floor, the floor decides.
    expect(quickDeadline).toBe(end - 50 + POLICY.minSilenceMs);
    // A slow link: 2–4 s between an answer and the next poll, steadily.
    const slow = new NodePresence(POLICY);
    const slowEnd = rhythm(slow, 0, 40, 1_000, (i) => 2_000 + (i % 5) * 500);
    const answeredAt = slowEnd - (2_000 + (39 % 5) * 500);
    const limit = (slow.deadline("node_a") ?? 0) - answeredAt;
    // Well past its longest usual gap (4 s), so a healthy slow node is not flapped …
    expect(limit).toBeGreaterThan(6_000);
    // … and still caught long before a 45 s lease.
    expect(limit).toBeLessThan(15_000);
    const absence = slow.absence("node_a", answeredAt + limit);
    expect(absence?.kind).toBe("silent");
    if (absence?.kind !== "silent") throw new Error("not silent");
    expect(absence.silentMs / absence.usualGapMs).toBeGreaterThan(2);
    expect(slow.absence("node_a", answeredAt + 4_500)).toBeNull();
  });
});
