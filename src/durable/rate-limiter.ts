import { DurableObject } from "cloudflare:workers";

export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until one more request would be allowed (0 when allowed). */
  retryAfterSeconds: number;
  remaining: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * One token bucket per object (one object per limited subject: an address's sign-ups, a key's
 * requests): `limit` tokens, refilled evenly over `windowSeconds`. A Durable Object because a
 * limit must hold across every isolate and colo of the deployment, and behave the same under
 * `wrangler dev`. The bucket is in storage (synchronous, so every call sees the last one's write)
 * so an eviction never hands out a fresh allowance.
 */
export class RateLimiter extends DurableObject<Env> {
  take(limit: number, windowSeconds: number, now: number = Date.now()): RateDecision {
    const ratePerMs = limit / (windowSeconds * 1000);
    const stored = this.ctx.storage.kv.get<Bucket>("bucket");
    const elapsed = stored === undefined ? 0 : Math.max(0, now - stored.at);
    const tokens = Math.min(limit, stored === undefined ? limit : stored.tokens + elapsed * ratePerMs);
    if (tokens >= 1) {
      this.ctx.storage.kv.put("bucket", { tokens: tokens - 1, at: now });
      return { allowed: true, retryAfterSeconds: 0, remaining: Math.floor(tokens - 1) };
    }
    this.ctx.storage.kv.put("bucket", { tokens, at: now });
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / ratePerMs / 1000)),
      remaining: 0,
    };
  }
}
