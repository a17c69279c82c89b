import type { SpotCheckRequest, VerificationAnswer, VerificationCommit } from "./messages.js";

/**
 * The agent's side of one challenge, whichever engine computes it (the PyTorch script in a
 * container or host process, or the TypeScript CPU benchmark): the commitment is ready when the
 * session is, and the product stays held until the spot checks are answered or the session closed.
 */
export interface BenchmarkSession {
  readonly commit: VerificationCommit;
  answer(request: SpotCheckRequest): Promise<VerificationAnswer>;
  /** Releases the product (and the process holding it); safe to call twice. */
  close(): Promise<void>;
}
