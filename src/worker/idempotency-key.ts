import type { Context } from "hono";
import { MeridianError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The request's `Idempotency-Key` (Stripe's convention), scoped so keys of different callers and
 * routes never collide. Without the header the request is not idempotent: it gets a fresh key.
 */
export function idempotencyKeyOf(c: Context, scope: string): string {
  const header = c.req.header("idempotency-key");
  if (header === undefined) return `${scope}:auto:${newId("tx")}`;
  if (!KEY.test(header)) {
    throw new MeridianError(
      400,
      "invalid_idempotency_key",
      "Idempotency-Key must be 1-255 printable ASCII characters",
    );
  }
  return `${scope}:${header}`;
}
