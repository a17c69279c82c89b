import type { GpuModel } from "../gpu-catalog.js";
import { type ChallengeSize, DEFAULT_WINDOW, datasheetTflops, flopsOf } from "./challenge-size.js";
import type { VerificationOutcome } from "./messages.js";
import { type RandomBytes, randomUnit } from "./random-source.js";

/**
 * When to challenge a node again. Intervals are random (a fixed minimum plus an exponential part)
 * so a provider cannot time a swap of hardware between challenges, and their mean is set from the
 * GPU time a challenge costs so that verification takes at most `targetFraction` of the GPU's
 * time over the long run: fraction = busy / (busy + mean delay) (renewal–reward).
 */

/** Aim below the 1% ceiling so estimate error and sampling noise stay under it. */
export const DEFAULT_TARGET_FRACTION = 0.008;
/** Re-challenge a suspect node soon; it gets no new work meanwhile, so this is outside the budget. */
export const SUSPECT_RECHALLENGE_MS = { min: 120_000, max: 300_000 } as const;

/** Typical (not allowed-for) setup: container start or Python start, PyTorch import, CUDA context. */
const TYPICAL_SETUP_MS = 10_000;
const TYPICAL_MEMORY_TESTS_MS = 2_000;
/** The agent hashes C on its CPU threads; 1 GB/s is a pessimistic host. */
const TYPICAL_HASH_BYTES_PER_MS = DEFAULT_WINDOW.hashBytesPerMs;

/** Wall time the GPU is held by one challenge (the whole run counts, not just the products). */
export function estimateChallengeGpuMs(model: GpuModel, size: ChallengeSize): number {
  const computeMs = (flopsOf(size) / (0.7 * datasheetTflops(model, size.dtype) * 1e12)) * 1000;
  const hashMs = (size.blocks * size.n * size.n * 2) / TYPICAL_HASH_BYTES_PER_MS;
  return TYPICAL_SETUP_MS + TYPICAL_MEMORY_TESTS_MS + computeMs + hashMs;
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
