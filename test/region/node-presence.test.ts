import { describe, expect, it } from "vitest";
import { COLLECTIVE_WINDOW_MS, NodePresence } from "../../src/durable/node-presence.js";

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

  it("lets one agent session hold a node while it is live, and the next take over once it is not", () => {
    const presence = new NodePresence(POLICY);
    expect(presence.admit("node_a", "session-a", 0)).toEqual({ ok: true });
    presence.pollOpened("node_a", "p1", 0);
    // A second agent process while the first holds a poll open: refused, however long it is held.
    expect(presence.admit("node_a", "session-b", 60_000)).toEqual({ ok: false, holder: "session-a" });
    // The same process again (a reconnect after a silent connection death) is let through.
    expect(presence.admit("node_a", "session-a", 60_000)).toEqual({ ok: true });
    // Answered, the first is still live within its silence limit …
    presence.pollAnswered("node_a", "p1", 60_000);
    expect(presence.admit("node_a", "session-b", 61_000).ok).toBe(false);
    // … and not past it: a silent holder gives the node up.
    expect(presence.admit("node_a", "session-b", 70_000)).toEqual({ ok: true });
    // Admitted, it is heard (its registration or poll goes on), and holds the node in turn.
    presence.heard("node_a", 70_000);
    expect(presence.admit("node_a", "session-a", 70_001)).toEqual({ ok: false, holder: "session-b" });
    // A dropped connection gives it up at once, so a restarted agent keeps its attempts.
    presence.pollOpened("node_a", "p2", 70_002);
    presence.pollDropped("node_a", "p2", 70_500);
    expect(presence.admit("node_a", "session-c", 70_600)).toEqual({ ok: true });
    presence.pollOpened("node_a", "p3", 70_600);
    // A caller that names no session (an older agent) is let through and holds nothing.
    expect(presence.admit("node_a", undefined, 70_700)).toEqual({ ok: true });
    expect(presence.admit("node_a", "session-a", 70_800)).toEqual({ ok: false, holder: "session-c" });
  });

  it("learns a slow link's round trip from its registration, so its first polls are not taken for silence", () => {
    const policy = { reconnectWindowMs: 5_000, minSilenceMs: 5_000, phiThreshold: 8 };
    // A link with a 5 s round trip: register, reclaim, then the first poll, each a round trip apart.
    const slow = new NodePresence(policy);
    slow.heard("node_a", 0);
    slow.requestAnswered("node_a", 10);
    slow.touched("node_a", 5_010);
    slow.requestAnswered("node_a", 5_020);
    expect(slow.absence("node_a", 10_500)).toBeNull();
    expect(slow.deadline("node_a") ?? 0).toBeGreaterThan(15_000);
    slow.pollOpened("node_a", "p1", 10_520);
    expect(slow.absence("node_a", 60_000)).toBeNull();
    // Judged on the prior alone (a one-second rhythm), the same node would have been taken for gone.
    const unlearned = new NodePresence(policy);
    unlearned.heard("node_a", 0);
    unlearned.touched("node_a", 5_010);
    expect(unlearned.absence("node_a", 10_500)).toMatchObject({ kind: "silent" });
  });
});

describe("silence the region shares with its nodes", () => {
  /** Nodes that each held a poll answered at `answeredAt` (one round of the usual rhythm before). */
  function answered(presence: NodePresence, nodes: string[], answeredAt: number): void {
    for (const node of nodes) {
      presence.pollOpened(node, `${node}-1`, answeredAt - 1_000);
      presence.pollAnswered(node, `${node}-1`, answeredAt);
    }
  }

  it("loses no node while most fell silent together, and judges them once the window is over", () => {
    const presence = new NodePresence(POLICY);
    const nodes = ["node_a", "node_b", "node_c"];
    answered(presence, nodes, 10_000);
    const limit = (presence.deadline("node_a") ?? 0) - 10_000;
    expect(limit).toBeGreaterThanOrEqual(POLICY.minSilenceMs);
    // Past every node's limit, nobody present: the region is the likelier cause.
    const past = 10_000 + limit + 1;
    expect(presence.silenceIsCollective(past)).toBe(true);
    for (const node of nodes) expect(presence.absence(node, past)).toBeNull();
    // The alarm is not woken for them again until the window ends.
    expect(presence.deadline("node_a", past)).toBe(10_000 + limit + COLLECTIVE_WINDOW_MS);
    const later = 10_000 + limit + COLLECTIVE_WINDOW_MS;
    expect(presence.silenceIsCollective(later)).toBe(false);
    expect(presence.absence("node_a", later)).toMatchObject({ kind: "silent", nodeId: "node_a" });
  });

  it("still judges a node silent alone when the others are present, and one silent node alone", () => {
    const presence = new NodePresence(POLICY);
    answered(presence, ["node_a", "node_b", "node_c"], 10_000);
    // node_b and node_c poll again at once and hold their polls; node_a is cut off.
    presence.pollOpened("node_b", "node_b-2", 10_100);
    presence.pollOpened("node_c", "node_c-2", 10_100);
    const limit = (presence.deadline("node_a") ?? 0) - 10_000;
    expect(presence.absence("node_a", 10_000 + limit)).toMatchObject({ kind: "silent", nodeId: "node_a" });
    const alone = new NodePresence(POLICY);
    answered(alone, ["node_a"], 10_000);
    expect(alone.absence("node_a", 10_000 + limit)).toMatchObject({ kind: "silent" });
  });

  it("does not count a silence that ended long ago: nodes gone for good do not shield new ones", () => {
    const presence = new NodePresence(POLICY);
    answered(presence, ["gone_1", "gone_2", "gone_3"], 0);
    answered(presence, ["node_a"], 100_000);
    presence.pollOpened("node_b", "node_b-1", 100_000);
    const limit = (presence.deadline("node_a") ?? 0) - 100_000;
    expect(presence.absence("node_a", 100_000 + limit)).toMatchObject({ kind: "silent", nodeId: "node_a" });
  });
});
