/**
 * Errors the CLI reports to its user. A `UsageError` is a mistake in the command line (exit 2, with
 * the command's help); a `CliError` is everything else the user should read (exit 1): an API error
 * envelope, an invalid spec, an unreachable control plane.
 */
export class CliError extends Error {
  readonly code: string;
  readonly details: unknown;

  constructor(code: string, message: string, details?: unknown) {
    super(message);
    this.name = "CliError";
    this.code = code;
    this.details = details;
  }
}

/** A mistake in the command line; the runner prints it with the help of the command being run. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
