import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { MeridianError } from "../shared/errors.js";
import type { AppEnv } from "./hono-env.js";

const Limit = z.object({
  limit: z.number().int().min(1),
  windowSeconds: z.number().int().min(1).max(86_400),
});
export type Limit = z.infer<typeof Limit>;

/**
 * The edge's rate limits (`RATE_LIMITS` var, JSON): sign-ups per address above all (each one is
 * free credit), requests per API key, and failed authentications per address (key guessing).
 */
export const RateLimits = z
  .object({
    signupPerAddress: Limit.default({ limit: 10, windowSeconds: 3600 }),
    requestsPerKey: Limit.default({ limit: 1200, windowSeconds: 60 }),
    authFailuresPerAddress: Limit.default({ limit: 60, windowSeconds: 60 }),
  })
  .strict();
export type RateLimits = z.infer<typeof RateLimits>;

let parsed: { text: string; limits: RateLimits } | undefined;

export function rateLimitsOf(env: Env): RateLimits {
  const text: string = env.RATE_LIMITS ?? "";
  if (parsed?.text === text) return parsed.limits;
  // A broken setting is the operator's mistake: fail loudly rather than run unlimited.
  const limits = RateLimits.parse(text.trim() === "" ? {} : JSON.parse(text));
  parsed = { text, limits };
  return limits;
}

/** The caller's address as Cloudflare (or wrangler dev) reports it. */
export function callerAddress(headers: { header(name: string): string | undefined }): string {
  return headers.header("cf-connecting-ip") ?? "unknown";
}

/** 429 with the seconds to wait, which the error boundary also sends as `Retry-After`. */
export class RateLimitedError extends MeridianError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(429, "rate_limited", message, { retryAfterSeconds });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Takes one request from the subject's bucket; throws the 429 (with Retry-After) when it is empty. */
export async function takeOrThrow(env: Env, subject: string, limit: Limit, what: string): Promise<void> {
  const limiter = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(subject));
  const decision = await limiter.take(limit.limit, limit.windowSeconds);
  if (!decision.allowed) {
    throw new RateLimitedError(
      `too many ${what}: at most ${limit.limit} per ${limit.windowSeconds} s; retry in ${decision.retryAfterSeconds} s`,
      decision.retryAfterSeconds,
    );
  }
}

/** Sign-ups per address: each account comes with a sign-up credit, so this is the first thing abused. */
export const limitSignups = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method === "POST") {
    const limits = rateLimitsOf(c.env);
    await takeOrThrow(
      c.env,
      `signup:${callerAddress(c.req)}`,
      limits.signupPerAddress,
      "sign-ups from this address",
    );
  }
  await next();
});
