import type { GpuModel } from "../gpu-catalog.js";
import { type ChallengeSize, computeMsAt } from "./challenge-size.js";
import { fillMsAt, type MemoryWalkSize, walkMsAt } from "./memory-size.js";
import type { VerificationOutcome } from "./messages.js";
import { type RandomBytes, randomUnit } from "./random-source.js";

/**
 * When to challenge a node again. Intervals are random (a fixed minimum plus an exponential part)
 * so a provider cannot time a swap of hardware between challenges, and their mean is set from the
 * GPU time a challenge costs so that verification takes at most `targetFraction` of the GPU's
 * time over the long run: fraction = busy / (busy + mean delay) (renewal–reward).
 */

/**
 * A GPU's first challenges: aim below the 1% ceiling so estimate error and sampling noise stay
 * under it. A new GPU (or one whose part or standing just changed) is checked at this rate.
 */
export const DEFAULT_TARGET_FRACTION = 0.008;
/**
 * A GPU with CLEAN_HISTORY_PASSES consecutive passes as the same part is checked half as often:
 * its long-run cost is 0.4%, under the 0.5% goal (issue 14). The delays stay random (a quarter
 * fixed, the rest memoryless), so a swap after passing is still caught at a time it cannot
 * predict; a mean of ~3.8 h instead of ~1.9 h is the price of the lower cost.
 */
export const ESTABLISHED_TARGET_FRACTION = 0.004;
export const CLEAN_HISTORY_PASSES = 3;

/** The GPU-time target for a GPU with `cleanPasses` consecutive passes as the same part. */
export function targetFractionFor(cleanPasses: number): number {
  return cleanPasses >= CLEAN_HISTORY_PASSES ? ESTABLISHED_TARGET_FRACTION : DEFAULT_TARGET_FRACTION;
}
/** Re-challenge a suspect node soon; it gets no new work meanwhile, so this is outside the budget. */
export const SUSPECT_RECHALLENGE_MS = { min: 120_000, max: 300_000 } as const;

/**
 * Typical (not allowed-for) preparation, all of it holding the GPU: container or Python start,
 * PyTorch import, CUDA context, kernel compilation and warm-up.
 */
const TYPICAL_SETUP_MS = 20_000;
/** VRAM fill and the bandwidth test. */
const TYPICAL_MEMORY_TESTS_MS = 3_000;
/** Digests, Merkle tree, round trips, and opening the spot-checked rows (a product each). */
const TYPICAL_COMMIT_AND_ANSWER_MS = 4_000;

/**
 * Wall time the GPU is held by one challenge (preparation counts, not just the products): the
 * products at the verified threshold (70% of datasheet), ~25 s for a ~17.5 s-at-datasheet challenge.
 */
export function estimateChallengeGpuMs(
  model: GpuModel,
  size: ChallengeSize,
  memory: MemoryWalkSize | null = null,
): number {
  // The memory phase: the fill at 80% of the part's integer rate, the walk at 80% of its bandwidth.
  const memoryMs = memory ? fillMsAt(model, memory, 0.8) + walkMsAt(model, memory, 0.8) : 0;
  return (
    TYPICAL_SETUP_MS +
    TYPICAL_MEMORY_TESTS_MS +
    memoryMs +
    computeMsAt(model, size, 0.7) +
    TYPICAL_COMMIT_AND_ANSWER_MS
  );
}

/** The mean delay between challenges that spends `targetFraction` of the GPU's time on them. */
export function meanDelayFor(busyMs: number, targetFraction = DEFAULT_TARGET_FRACTION): number {
  return busyMs / targetFraction - busyMs;
}

export function gpuTimeFraction(busyMs: number, meanDelayMs: number): number {
  return busyMs / (busyMs + meanDelayMs);
}

export interface ScheduleInput {
  outcome: VerificationOutcome;
  /** GPU time the last challenge took: the larger of the estimate and the agent's reported total. */
  busyMs: number;
  random: RandomBytes;
  targetFraction?: number;
}

/** Milliseconds from the last judgement to the next challenge; undefined for a rejected node. */
export function nextChallengeDelayMs(input: ScheduleInput): number | undefined {
  if (input.outcome === "rejected") return undefined;
  const u = randomUnit(input.random);
  if (input.outcome === "suspect") {
    return Math.round(
      SUSPECT_RECHALLENGE_MS.min + u * (SUSPECT_RECHALLENGE_MS.max - SUSPECT_RECHALLENGE_MS.min),
    );
  }
  const mean = meanDelayFor(input.busyMs, input.targetFraction);
  // A quarter of the mean is fixed, so challenges never bunch up; the rest is memoryless.
  return Math.round(mean / 4 + (-Math.log(1 - u) * 3 * mean) / 4);
}
