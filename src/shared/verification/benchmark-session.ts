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
  /**
   * The memory phase's first half, for a challenge that has one: fills the working set from the
   * memory seed (release phase "memory") and resolves once it is filled.
   */
  fill(release: ChallengeRelease): Promise<void>;
  /**
   * The second half: walks the filled working set from the walk seed (release phase "walk") and
   * resolves with the walk's root (walk-commitment.ts) once committed to. The walk's openings go
   * with the answer of the session `run` returns.
   */
  walk(release: ChallengeRelease): Promise<string>;
  /** Computes the product for the released compute seed; resolves once the commitment is ready. */
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
