import type { ChallengeDtype } from "../../shared/verification/canonical-value.js";
import type { ModelLookup } from "../../shared/verification/challenge-lifecycle.js";
import type { ChallengeSize, WindowOptions } from "../../shared/verification/challenge-size.js";
import type { MemoryWalkSize } from "../../shared/verification/memory-size.js";
import type { RandomBytes } from "../../shared/verification/random-source.js";
import type { NodeVerification } from "./node-verification.js";

/** A node as the desk needs it: its id and GPUs (NodeRecord fits). */
export interface DeskNode {
  id: string;
  hardware: { gpus: readonly { uuid: string; model?: string | undefined; vramMib: number }[] };
}

export interface DeskOptions {
  /** Randomness for seeds, spot checks and intervals; tests pass a seeded source. */
  random?: RandomBytes;
  /** Overrides the catalogue-derived challenge size (tests use small matrices). */
  size?: Partial<ChallengeSize>;
  /** Overrides the memory phase sized from the claimed VRAM; null leaves it out (tests only). */
  memory?: MemoryWalkSize | null;
  window?: WindowOptions;
  dtype?: ChallengeDtype;
  /** Long-run fraction of a GPU's time spent on challenges (default 0.8%, under the 1% ceiling). */
  targetFraction?: number;
  /**
   * Open challenges one node holds at once: all of its GPUs by default, challenged together and
   * released together (one GPU cannot answer for several one after another). Tests lower it.
   */
  maxOpenPerNode?: number;
  /** When true (the default) only a verified node may take work; false admits unverified nodes. */
  requireVerified?: boolean;
  /** The catalogue by default; unit tests pass a scaled copy so tiny challenges take seconds. */
  models?: ModelLookup;
}

/** Storage writes owed since the last `takeChanges`: one key per node. */
export interface DeskChanges {
  puts: Record<string, NodeVerification>;
  deletes: string[];
}
