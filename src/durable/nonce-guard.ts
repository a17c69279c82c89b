import { SIGNATURE_WINDOW_MS } from "../shared/agent-signature.js";
import { MeridianError } from "../shared/errors.js";

/**
 * Refuses replayed and stale agent signatures without writing storage on every request: nonces live
 * in memory for the signature window. Memory can vanish with the object, so a request signed before
 * this instance started is refused as stale (the agent re-signs), which closes the replay gap.
 *
 * Nonces are kept in two generations, each spanning a window and a half; a nonce is remembered for
 * at least the time its timestamp can stay acceptable, and forgetting costs O(1): the older
 * generation is dropped whole.
 */
export class NonceGuard {
  private current = new Set<string>();
  private previous = new Set<string>();
  private rotatedAt: number;
  private readonly startedAt: number;

  constructor(now: number) {
    this.startedAt = now;
    this.rotatedAt = now;
  }

  check(nonce: string, timestamp: number, now: number): void {
    if (Math.abs(now - timestamp) > SIGNATURE_WINDOW_MS || timestamp < this.startedAt) {
      throw new MeridianError(
        401,
        "stale_signature",
        "the request's timestamp is outside the signature window",
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
  }
}
