import { describe, expect, it } from "vitest";
import { NonceGuard, PROMISE_STEP_MS } from "../../src/durable/nonce-guard.js";
import { SIGNATURE_WINDOW_MS } from "../../src/shared/agent-signature.js";
import { MeridianError } from "../../src/shared/errors.js";

/** The code a check refuses with, or "accepted". */
function verdict(guard: NonceGuard, nonce: string, timestamp: number, now: number): string {
  try {
    guard.check(nonce, timestamp, now);
    return "accepted";
  } catch (error) {
    if (error instanceof MeridianError) return error.code;
    throw error;
  }
}

/** A guard whose promises land in `store`, as the Region object's land in its storage. */
function guardOver(store: { promised?: number }, now: number): NonceGuard {
  const guard = new NonceGuard(now, (promised) => {
    store.promised = promised;
  });
  guard.restore(store.promised ?? null);
  return guard;
}

describe("nonce guard", () => {
  const t0 = 1_800_000_000_000;

  it("refuses a nonce twice and timestamps outside the window", () => {
    const guard = guardOver({}, t0);
    expect(verdict(guard, "a", t0, t0)).toBe("accepted");
    expect(verdict(guard, "a", t0, t0 + 1)).toBe("replayed_request");
    expect(verdict(guard, "b", t0 - SIGNATURE_WINDOW_MS - 1, t0)).toBe("stale_signature");
    expect(verdict(guard, "c", t0 + SIGNATURE_WINDOW_MS + 1, t0)).toBe("stale_signature");
    // Remembered while its timestamp can be accepted, across the generations' rotation.
    const later = t0 + 2 * SIGNATURE_WINDOW_MS - 10;
    expect(verdict(guard, "d", later, later)).toBe("accepted");
    const rotated = t0 + 2 * SIGNATURE_WINDOW_MS + 5;
    expect(verdict(guard, "e", rotated, rotated)).toBe("accepted");
    expect(verdict(guard, "d", later, later + SIGNATURE_WINDOW_MS - 1)).toBe("replayed_request");
    expect(verdict(guard, "d", later, later + SIGNATURE_WINDOW_MS + 1)).toBe("stale_signature");
  });

  it("after a restart, refuses what the last instance may have accepted and takes what is newer", () => {
    const store: { promised?: number } = {};
    const before = guardOver(store, t0);
    expect(verdict(before, "seen", t0 + 100, t0 + 100)).toBe("accepted");
    expect(store.promised).toBe(t0 + 100 + PROMISE_STEP_MS);
    // Many requests inside the step cost no write.
    const writes: number[] = [];
    const counting = new NonceGuard(t0, (p) => writes.push(p));
    counting.restore(null);
    for (let i = 0; i < 50; i++) counting.check(`n${i}`, t0 + i * 10, t0 + i * 10);
    expect(writes.length).toBe(1);

    // The object restarts 3 s later: its memory of "seen" is gone, its promise is not.
    const after = guardOver(store, t0 + 3_000);
    expect(verdict(after, "seen", t0 + 100, t0 + 3_000)).toBe("signed_before_restart");
    // Anything within the promise is refused the same way (a replay cannot be told from it)...
    expect(verdict(after, "other", t0 + 100 + PROMISE_STEP_MS, t0 + 3_000)).toBe("signed_before_restart");
    // ...and an honest request signed during the outage, held at the door, is taken.
    expect(verdict(after, "held", t0 + 100 + PROMISE_STEP_MS + 1, t0 + 3_000)).toBe("accepted");
    expect(verdict(after, "held", t0 + 100 + PROMISE_STEP_MS + 1, t0 + 3_001)).toBe("replayed_request");
  });

  it("names the first timestamp it accepts when it refuses a signature from before the restart", () => {
    const guard = guardOver({ promised: t0 }, t0 + 500);
    try {
      guard.check("x", t0 - 10, t0 + 500);
      expect.unreachable("accepted a signature from before the restart");
    } catch (error) {
      expect(error).toBeInstanceOf(MeridianError);
      expect((error as MeridianError).details).toEqual({ notBefore: t0 + 1 });
    }
  });

  it("an object that kept no promise refuses everything signed before it started; a new one nothing", () => {
    const old = new NonceGuard(t0, () => undefined);
    old.restore(undefined);
    expect(verdict(old, "a", t0 - 1, t0)).toBe("signed_before_restart");
    expect(verdict(old, "b", t0 + 1, t0 + 1)).toBe("accepted");
    const fresh = new NonceGuard(t0, () => undefined);
    fresh.restore(null);
    expect(verdict(fresh, "a", t0 - 5_000, t0)).toBe("accepted");
  });
});
