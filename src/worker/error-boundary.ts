import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { MeridianError } from "../shared/errors.js";
import { RateLimitedError } from "./rate-limits.js";

/** Domain errors and rejected input become the JSON envelope; anything else a bare 500. */
export function errorBoundary(error: Error, c: Context): Response {
  if (error instanceof RateLimitedError) c.header("Retry-After", String(error.retryAfterSeconds));
  if (error instanceof MeridianError) {
    return c.json(
      { error: { code: error.code, message: error.message, details: error.details } },
      error.status,
    );
  }
  if (error instanceof HTTPException && error.status < 500) {
    return c.json(
      { error: { code: "bad_request", message: error.message || "the request could not be read" } },
      error.status as ContentfulStatusCode,
    );
  }
  console.error(
    JSON.stringify({
      msg: "unhandled error",
      method: c.req.method,
      path: c.req.path,
      error: String(error),
      stack: error.stack,
    }),
  );
  return c.json({ error: { code: "internal_error", message: "something went wrong on our side" } }, 500);
}
