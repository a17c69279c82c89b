import { ErrorEnvelope } from "../errors.js";

/**
 * A failed API call as the CLI and the console see it: the server's error envelope (code,
 * message, details) and the HTTP status, or a client-side code for what never got an answer:
 * `unreachable` (network), `no_api_key`, `bad_response` (a body this client does not understand).
 */
export class ApiError extends Error {
  readonly code: string;
  /** The HTTP status; 0 when no answer came. */
  readonly status: number;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The key was refused: wrong, revoked or expired. */
  get unauthorized(): boolean {
    return this.status === 401;
  }

  /** Worth retrying as it is: the network, or the server's side (5xx, 503 region unavailable). */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
}

/** The error a non-2xx response carries: its envelope when it has one, else its text. */
export async function apiErrorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const envelope = ErrorEnvelope.safeParse(json);
  if (envelope.success) {
    const { code, message, details } = envelope.data.error;
    return new ApiError(response.status, code, message, details);
  }
  const snippet = text.trim().slice(0, 200);
  return new ApiError(
    response.status,
    `http_${response.status}`,
    snippet || response.statusText || "request failed",
  );
}

/** A field's problem from a 400's `details.issues`: `path` is dotted (`resources.gpus`). */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** The per-field issues of a validation error, if it has them. */
export function fieldIssues(error: ApiError): FieldIssue[] {
  const issues = (error.details as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues)) return [];
  return issues.flatMap((issue: unknown) => {
    const { path, message } = (issue ?? {}) as { path?: unknown; message?: unknown };
    return typeof message === "string" ? [{ path: typeof path === "string" ? path : "", message }] : [];
  });
}
