import type { Demand } from "../demand.js";
import type { Candidate } from "../scoring.js";

/** What every term of one decision shares, computed once per decision. */
export interface ScoreContext {
  demand: Demand;
  /** Per GPU model, how scarce it is for the work expected (see `scarcity.ts`). */
  pressure: ReadonlyMap<string, number>;
  /** TFLOP/s assumed for an unverified node: the slowest verified candidate's, else 1. */
  fallbackTflops: number;
}

/**
 * How a term's raw values become comparable across terms (the Kubernetes framework's
 * NormalizeScore): as they are; per whole GPU (raw values in thousandths of a GPU); or as a share
 * of the best candidate's value, so 1 is the best on offer whatever the units.
 */
export type Normalise = "none" | "perGpu" | "toBest";

/** One score term: a figure of a candidate placement, higher meaning more of what it names. */
export interface ScoreTerm {
  readonly name: string;
  /** What it measures, in words. */
  readonly says: string;
  readonly normalise: Normalise;
  /** True when its value depends on the node alone, so a policy of such terms can stream. */
  readonly nodeOnly?: boolean;
  readonly value: (candidate: Candidate, context: ScoreContext) => number;
}

/** A term with its weight in a policy: negative weights are costs. */
export interface WeightedTerm {
  readonly term: ScoreTerm;
  readonly weight: number;
}
