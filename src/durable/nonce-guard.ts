import { SIGNATURE_WINDOW_MS } from "../shared/agent-signature.js";
import { MeridianError } from "../shared/errors.js";

/**
 * How far past a timestamp it accepts the guard promises in storage at once. One storage write per
 * step at most (not one per request), and a restart refuses at most this much of the signatures
 * made just before it (the agent signs again).
 */
export const PROMISE_STEP_MS = 1_000;

/**
 * Refuses replayed and stale agent signatures without writing storage on every request: nonces live
 * in memory for the signature window. Memory vanishes with the object, so before accepting a
 * timestamp the guard has promised in storage that it may have accepted everything up to it (`promised`,
 * raised a step at a time). A new instance refuses whatever is at or below the promise it finds
 * (those nonces are forgotten: a replay, or an honest request signed just before the restart, which
 * the agent signs again) and accepts everything after it. So a restart refuses only signatures from
 * within a step of the last one accepted, instead of everything signed before the object started,
 * such as requests held at the door while the control plane came back.
 *
 * Nonces are kept in two generations, each spanning a window and a half; a nonce is remembered for
 * at least the time its timestamp can stay acceptable, and forgetting costs O(1): the older
 * generation is dropped whole.
 */
export class NonceGuard {
  private current = new Set<string>();
  private previous = new Set<string>();
  private rotatedAt: number;
  /** Timestamps at or below this may have been accepted by an earlier instance whose nonces are gone. */
  private floor: number;
  /** Timestamps up to this are covered by the promise in storage. */
  private promised: number;

  /**
   * `now` is the instance's start: until `restore` runs, and when storage holds no promise (an object
   * written by a version that kept none), everything signed before it is refused, as before.
   */
  constructor(
    now: number,
    private readonly persist: (promised: number) => void,
  ) {
    this.rotatedAt = now;
    this.floor = now;
    this.promised = now;
  }

  /**
   * Takes up the promise an earlier instance left; `null` for an object that is new (nothing was
   * ever accepted), `undefined` for one that kept no promise (the start stays the floor).
   */
  restore(promised: number | null | undefined): void {
    if (promised === null) {
      this.floor = Number.NEGATIVE_INFINITY;
      this.promised = Number.NEGATIVE_INFINITY;
      return;
    }
    if (promised === undefined || !Number.isFinite(promised)) return;
    this.floor = promised;
    this.promised = promised;
  }

  check(nonce: string, timestamp: number, now: number): void {
    if (Math.abs(now - timestamp) > SIGNATURE_WINDOW_MS) {
      throw new MeridianError(
        401,
        "stale_signature",
        "the request's timestamp is outside the signature window",
      );
    }
    if (timestamp <= this.floor) {
      throw new MeridianError(
        401,
        "signed_before_restart",
        "the region restarted just after this request was signed and no longer knows its nonce; sign it again",
        { notBefore: this.floor + 1 },
      );
    }
    // A timestamp is accepted for up to two windows (either side of now), so each generation must
    // span at least that long for a replay inside the window to meet its nonce.
    if (now - this.rotatedAt >= 2 * SIGNATURE_WINDOW_MS) {
      this.previous = this.current;
      this.current = new Set();
      this.rotatedAt = now;
    }
    if (this.current.has(nonce) || this.previous.has(nonce)) {
      throw new MeridianError(401, "replayed_request", "this request's nonce was already used");
    }
    this.current.add(nonce);
    if (timestamp > this.promised) {
      this.promised = Math.max(timestamp, now) + PROMISE_STEP_MS;
      this.persist(this.promised);
    }
  }
}
