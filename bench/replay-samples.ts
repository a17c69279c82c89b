/**
 * Workloads drawn from the trace for `bench:replay`, seeded so every run draws the same pods: each
 * keeps the trace's own pods (their CPU, memory, GPU shares and model lists) and only changes how
 * often each kind arrives.
 *
 * - sharing-heavy: from the default list, 50% or 70% of pods are GPU-sharing ones (`gpu_milli` <
 *   1000; the list itself has 38%);
 * - model-constrained: from gpuspec33, 40%, 55% or 70% of GPU pods carry a GPU-model list (the
 *   list itself has 33%);
 * - multi-GPU-heavy: from the default list, 15%, 25% or 35% of pods ask for 2 or more GPUs (the
 *   list itself has 0.9%).
 * The rest of each sample is drawn from the remaining pods of its list, in proportion.
 */
import { prng } from "../test/support/prng.js";
import type { TracePod } from "./replay-trace.js";

export interface Sample {
  name: string;
  /** The trace list it is drawn from. */
  from: "default" | "gpuspec33";
  /** The kind of pod the sample favours, and its share of the draws. */
  favours: (pod: TracePod) => boolean;
  share: number;
  /** Among which pods the share is counted (the others are drawn as they are). */
  among?: (pod: TracePod) => boolean;
  /** The FGD ratio the issue asks of it against the stronger baseline. */
  target: number;
}

export const SAMPLE_SIZE = 8000;
/** The draws' seed; `bench:replay --seed <n>` draws other samples of the same kinds. */
export const SAMPLE_SEED = 20_230_710;

const sharing = (pod: TracePod): boolean => pod.gpus === 1 && pod.gpuMilli < 1000;
const constrained = (pod: TracePod): boolean => pod.models !== undefined;
const multiGpu = (pod: TracePod): boolean => pod.gpus >= 2;
const gpuPod = (pod: TracePod): boolean => pod.gpus > 0;

/** Each kind at a few strengths, so a result is not an artefact of one chosen mix. */
export const SAMPLES: readonly Sample[] = [
  ...[0.5, 0.7].map((share) => ({
    name: `sharing-heavy ${Math.round(share * 100)}%`,
    from: "default" as const,
    favours: sharing,
    share,
    target: 0.95,
  })),
  ...[0.4, 0.55, 0.7].map((share) => ({
    name: `model-constrained ${Math.round(share * 100)}%`,
    from: "gpuspec33" as const,
    favours: constrained,
    among: gpuPod,
    share,
    target: 0.95,
  })),
  ...[0.15, 0.25, 0.35].map((share) => ({
    name: `multi-GPU-heavy ${Math.round(share * 100)}%`,
    from: "default" as const,
    favours: multiGpu,
    share,
    target: 0.8,
  })),
];

/** `SAMPLE_SIZE` pods drawn with replacement from `pods` as `sample` says. */
export function drawSample(sample: Sample, pods: readonly TracePod[], seed = SAMPLE_SEED): TracePod[] {
  const random = prng(seed);
  const among = sample.among ?? (() => true);
  const favoured = pods.filter((pod) => among(pod) && sample.favours(pod));
  const others = pods.filter((pod) => among(pod) && !sample.favours(pod));
  const outside = pods.filter((pod) => !among(pod));
  const outsideShare = outside.length / pods.length;
  const pick = (list: readonly TracePod[]): TracePod | undefined => list[Math.floor(random() * list.length)];
  const drawn: TracePod[] = [];
  while (drawn.length < SAMPLE_SIZE) {
    const roll = random();
    const list =
      roll < outsideShare
        ? outside
        : roll < outsideShare + (1 - outsideShare) * sample.share
          ? favoured
          : others;
    const pod = pick(list);
    if (pod) drawn.push({ ...pod, name: `${pod.name}~${drawn.length}` });
  }
  return drawn;
}
