import { describe, expect, it } from "vitest";
import { attemptEndOf, ReputationBook } from "../../src/durable/reputation/index.js";

const T0 = 1_800_000_000_000;
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const NODE = "node_0123456789abcdefghjkmnpqrs";

describe("reputation score and components", () => {
  it("starts a new node at the neutral prior with low confidence", () => {
    const book = new ReputationBook();
    book.record(NODE, { type: "online" }, T0);
    const view = book.view(NODE, T0);
    expect(view.score).toBeCloseTo(0.5, 6);
    expect(view.confidence).toBe(0);
    expect(view.status).toBe("active");
    expect(view.components).toEqual({
      uptime: null,
      successRate: null,
      ackLatencyMs: null,
      verification: null,
    });
    expect(book.score("node_unknownnnnnnnnnnnnnnnnnnnnn", T0)).toBeCloseTo(0.5, 6);
  });

  it("rises with uptime, successes, fast acknowledgements and verification, and gains confidence", () => {
    const book = new ReputationBook();
    book.record(NODE, { type: "online" }, T0);
    let now = T0;
    for (let i = 0; i < 20; i++) {
      now += HOUR;
      book.record(NODE, { type: "acknowledged", assignedAt: now - 2_000 }, now);
      book.record(NODE, { type: "attempt", end: "succeeded" }, now);
    }
    book.record(NODE, { type: "verification", outcome: "verified" }, now);
    const view = book.view(NODE, now);
    expect(view.components.uptime).toBeCloseTo(1, 6);
    expect(view.components.successRate).toBe(1);
    expect(view.components.ackLatencyMs).toBeCloseTo(2_000, 6);
    expect(view.components.verification).toBe(1);
    expect(view.score).toBeGreaterThan(0.85);
    expect(view.confidence).toBeGreaterThan(0.7);
    expect(view.totals.succeeded).toBe(20);
  });

  it("measures uptime from online/offline transitions, not heartbeats", () => {
    const book = new ReputationBook();
    book.record(NODE, { type: "online" }, T0);
    book.record(NODE, { type: "offline" }, T0 + 3 * HOUR);
    book.record(NODE, { type: "online" }, T0 + 4 * HOUR);
    // Read an hour later without any event: reading must not change (or dirty) the state.
    book.takeChanges();
    const uptime = book.view(NODE, T0 + 5 * HOUR).components.uptime;
    expect(uptime).toBeCloseTo(4 / 5, 2);
    expect(book.dirty).toBe(false);
    // A second `online` while online is no change.
    expect(book.record(NODE, { type: "online" }, T0 + 5 * HOUR)).toBe(false);
  });

  it("decays old evidence: a failure a month ago weighs far less than one today", () => {
    const old = new ReputationBook();
    const recent = new ReputationBook();
    for (const book of [old, recent]) book.record(NODE, { type: "online" }, T0);
    old.record(NODE, { type: "attempt", end: "lost" }, T0);
    const now = T0 + 30 * DAY;
    for (const book of [old, recent]) {
      for (let i = 0; i < 4; i++) book.record(NODE, { type: "attempt", end: "succeeded" }, now - i * HOUR);
    }
    recent.record(NODE, { type: "attempt", end: "lost" }, now);
    const oldRate = old.view(NODE, now).components.successRate ?? 0;
    const recentRate = recent.view(NODE, now).components.successRate ?? 0;
    expect(oldRate).toBeGreaterThan(0.98);
    expect(recentRate).toBeCloseTo(0.8, 2);
    expect(old.score(NODE, now)).toBeGreaterThan(recent.score(NODE, now));
  });

  it("scores a slow acknowledger below a fast one", () => {
    const fast = new ReputationBook();
    const slow = new ReputationBook();
    fast.record(NODE, { type: "acknowledged", assignedAt: T0 - 1_000 }, T0);
    slow.record(NODE, { type: "acknowledged", assignedAt: T0 - 10 * MIN }, T0);
    expect(fast.score(NODE, T0)).toBeGreaterThan(slow.score(NODE, T0));
  });
});

describe("what counts against a node", () => {
  it("does not hold the user's own failures, timeouts or cancellations against it", () => {
    const book = new ReputationBook();
    book.record(NODE, { type: "attempt", end: "succeeded" }, T0);
    const before = book.score(NODE, T0);
    for (let i = 0; i < 10; i++) {
      book.record(NODE, { type: "attempt", end: "user_failed" }, T0 + i);
      book.record(NODE, { type: "attempt", end: "timed_out" }, T0 + i);
      book.record(NODE, { type: "attempt", end: "cancelled" }, T0 + i);
      book.record(NODE, { type: "attempt", end: "returned" }, T0 + i);
    }
    const view = book.view(NODE, T0 + 10);
    expect(view.score).toBeCloseTo(before, 6);
    expect(view.components.successRate).toBe(1);
    expect(view.status).toBe("active");
    expect(view.totals.userFailures).toBe(20);
  });

  it("maps exit reports: a non-zero exit is the user's, an agent error the node's", () => {
    const exited = (reason: "completed" | "timeout" | "cancelled" | "error", exitCode: number | null) =>
      attemptEndOf({ type: "exited", fencing: 1, at: T0, exitCode, reason });
    expect(exited("completed", 0)).toBe("succeeded");
    expect(exited("completed", 1)).toBe("user_failed");
    expect(exited("timeout", null)).toBe("timed_out");
    expect(exited("cancelled", 137)).toBe("cancelled");
    expect(exited("error", null)).toBe("agent_error");
  });

  it("lowers the score for lost attempts and agent errors", () => {
    const book = new ReputationBook();
    book.record(NODE, { type: "attempt", end: "lost" }, T0);
    book.record(NODE, { type: "attempt", end: "agent_error" }, T0 + 2 * HOUR);
    const view = book.view(NODE, T0 + 2 * HOUR);
    expect(view.components.successRate).toBe(0);
    expect(view.score).toBeLessThan(0.5);
    expect(view.totals).toMatchObject({ lost: 1, agentErrors: 1 });
  });
});

describe("quarantine, expulsion and lifting", () => {
  it("quarantines after 3 lost attempts within an hour, for a cooling period", () => {
    const book = new ReputationBook();
    book.record(NODE, { type: "attempt", end: "lost" }, T0);
    book.record(NODE, { type: "attempt", end: "lost" }, T0 + 20 * MIN);
    expect(book.eligible(NODE, T0 + 20 * MIN)).toBe(true);
    book.record(NODE, { type: "attempt", end: "lost" }, T0 + 40 * MIN);
    const view = book.view(NODE, T0 + 40 * MIN);
    expect(view.status).toBe("quarantined");
    expect(view.until).toBe(T0 + 40 * MIN + 6 * HOUR);
    expect(view.reason).toMatch(/3 attempts lost/);
    expect(book.eligible(NODE, T0 + 40 * MIN)).toBe(false);
    expect(book.nextChangeAt(T0 + 40 * MIN)).toBe(T0 + 40 * MIN + 6 * HOUR);
    // The cooling period ends on its own, with no write.
    book.takeChanges();
    expect(book.eligible(NODE, T0 + 40 * MIN + 6 * HOUR + 1)).toBe(true);
    expect(book.dirty).toBe(false);
  });

  it("counts the attempts lost in one incident of the node as one failure", () => {
    const book = new ReputationBook();
    for (const incident of ["pass-1", "pass-2"])
      for (let i = 0; i < 5; i++) book.record(NODE, { type: "attempt", end: "lost", incident }, T0);
    const view = book.view(NODE, T0);
    expect(view.status).toBe("active");
    expect(view.totals.lost).toBe(10);
    // Each attempt is still evidence against its success rate.
    expect(view.components.successRate).toBe(0);
    book.record(NODE, { type: "attempt", end: "lost", incident: "pass-3" }, T0 + MIN);
    expect(book.view(NODE, T0 + MIN)).toMatchObject({ status: "quarantined", totals: { quarantines: 1 } });
  });

  it("does not quarantine failures spread over more than the window", () => {
    const book = new ReputationBook();
    for (let i = 0; i < 5; i++) book.record(NODE, { type: "attempt", end: "lost" }, T0 + i * 40 * MIN);
    expect(book.status(NODE, T0 + 4 * 40 * MIN)).toBe("active");
  });

  it("expels on the third quarantine within 7 days, until an operator lifts it", () => {
    const book = new ReputationBook();
    let now = T0;
    for (let q = 0; q < 3; q++) {
      for (let i = 0; i < 3; i++) book.record(NODE, { type: "attempt", end: "lost" }, now + i * MIN);
      now += DAY;
    }
    const view = book.view(NODE, now);
    expect(view.status).toBe("expelled");
    expect(view.score).toBe(0);
    expect(view.totals).toMatchObject({ quarantines: 3, expulsions: 1 });
    expect(book.eligible(NODE, now + 365 * DAY)).toBe(false);
    const lifted = book.lift(NODE, now);
    expect(lifted.status).toBe("active");
    expect(lifted.totals.lifts).toBe(1);
    expect(book.eligible(NODE, now)).toBe(true);
    // A clean penalty record after the lift: one more quarantine does not expel again.
    for (let i = 0; i < 3; i++) book.record(NODE, { type: "attempt", end: "lost" }, now + i * MIN);
    expect(book.status(NODE, now + 3 * MIN)).toBe("quarantined");
  });

  it("quarantines at once on a rejected verification, and the operator can lift it", () => {
    const book = new ReputationBook();
    book.record(NODE, { type: "verification", outcome: "rejected" }, T0);
    const view = book.view(NODE, T0);
    expect(view.status).toBe("quarantined");
    expect(view.reason).toBe("verification rejected");
    expect(view.components.verification).toBe(0);
    expect(book.lift(NODE, T0 + MIN).status).toBe("active");
  });

  it("refuses to lift a node it has never seen", () => {
    expect(() => new ReputationBook().lift(NODE, T0)).toThrow(/no reputation/);
  });
});

describe("persistence", () => {
  it("round-trips through JSON with the same views, and tracks what to write", () => {
    const book = new ReputationBook();
    expect(book.dirty).toBe(false);
    book.record(NODE, { type: "online" }, T0);
    book.record(NODE, { type: "attempt", end: "succeeded" }, T0 + HOUR);
    for (let i = 0; i < 3; i++) book.record(NODE, { type: "attempt", end: "lost" }, T0 + HOUR + i);
    expect(book.dirty).toBe(true);
    const changes = book.takeChanges();
    expect(Object.keys(changes.puts)).toEqual([NODE]);
    expect(book.dirty).toBe(false);

    const copy = ReputationBook.from(JSON.parse(JSON.stringify(book.toJSON())));
    const later = T0 + 2 * DAY;
    expect(copy.view(NODE, later)).toEqual(book.view(NODE, later));
    expect(copy.dirty).toBe(false);
    // The stored change set alone rebuilds the same book.
    expect(ReputationBook.from(JSON.parse(JSON.stringify(changes.puts))).view(NODE, later)).toEqual(
      book.view(NODE, later),
    );

    copy.forget(NODE);
    expect(copy.takeChanges()).toEqual({ puts: {}, deletes: [NODE] });
  });
});
