import type {
  ChallengeRelease,
  SpotCheckRequest,
  VerificationAnswer,
  VerificationCommit,
} from "./messages.js";

/**
 * The agent's side of one challenge, whichever engine computes it (the PyTorch script in a
 * container or host process, or the TypeScript CPU benchmark). Preparation (runner up, VRAM shown,
 * bandwidth measured, warm-up) happens before the seed exists; `run` gets the seed and computes
 * inside the commit window.
 */
export interface PreparedBenchmark {
  /** Computes the product for the released seed; resolves once the commitment is ready. */
  run(release: ChallengeRelease): Promise<BenchmarkSession>;
  /** Releases the runner; safe to call twice, and after `run`'s session was closed. */
  close(): Promise<void>;
}

/** A computed challenge: the commitment, and what it takes to open rows until closed. */
export interface BenchmarkSession {
  readonly commit: VerificationCommit;
  answer(request: SpotCheckRequest): Promise<VerificationAnswer>;
  /** Releases the product (and the process holding it); safe to call twice. */
  close(): Promise<void>;
}
