import { SIGNATURE_WINDOW_MS } from "../shared/agent-signature.js";
import { MeridianError } from "../shared/errors.js";

/**
 * Refuses replayed and stale agent signatures without writing storage on every request: nonces live
 * in memory for the signature window. Memory can vanish with the object, so a request signed before
 * this instance started is refused as stale (the agent re-signs), which closes the replay gap.
 */
export class NonceGuard {
  private readonly seen = new Map<string, number>();
  private readonly startedAt: number;

  constructor(now: number) {
    this.startedAt = now;
  }

  check(nonce: string, timestamp: number, now: number): void {
    if (Math.abs(now - timestamp) > SIGNATURE_WINDOW_MS || timestamp < this.startedAt) {
      throw new MeridianError(
        401,
        "stale_signature",
        "the request's timestamp is outside the signature window",
      );
    }
    if (this.seen.has(nonce)) {
      throw new MeridianError(401, "replayed_request", "this request's nonce was already used");
    }
    if (this.seen.size > 1024) this.evict(now);
    this.seen.set(nonce, timestamp + SIGNATURE_WINDOW_MS);
  }

  private evict(now: number): void {
    for (const [nonce, expiresAt] of this.seen) {
      if (expiresAt < now) this.seen.delete(nonce);
    }
  }
}
