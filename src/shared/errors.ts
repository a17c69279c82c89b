import { z } from "zod";

/** HTTP statuses a domain error may carry; anything else is a bug and answers 500. */
export type ErrorStatus = 400 | 401 | 402 | 403 | 404 | 409 | 410 | 413 | 415 | 422 | 429 | 503;

/**
 * A user-facing error with a stable code. Domain code throws it; the one error boundary turns it
 * into `{"error":{"code","message","details"}}`.
 */
export class MeridianError extends Error {
  readonly code: string;
  readonly status: ErrorStatus;
  readonly details: unknown;

  constructor(status: ErrorStatus, code: string, message: string, details?: unknown) {
    super(message);
    this.name = "MeridianError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const ErrorEnvelope = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;
