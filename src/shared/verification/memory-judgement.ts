import { GPU_CATALOG, type GpuModel } from "../gpu-catalog.js";
import type { MemoryPhase, ModelLookup } from "./challenge-record.js";
import type { Finding, Measured } from "./judgement.js";
import { type MemoryWalkSize, walkRateGBps, workingSetBytesOf } from "./memory-size.js";
import { walkKeys } from "./memory-walk.js";
import type { VerificationChallenge } from "./messages.js";
import { classifyPart } from "./part-classifier.js";
import { matrixKeys } from "./seeded-matrix.js";
import { WALK_BANDWIDTH_IMPOSSIBLE_ABOVE, WALK_BANDWIDTH_VERIFIED_AT } from "./thresholds.js";
import { checkWalkOpenings, type WalkPlan } from "./walk-check.js";
import type { WalkOpening } from "./walk-messages.js";

/**
 * The judgement of a challenge with a memory phase. The walk's openings are checked (a failure is
 * rejected: a read skipped or faked); the bandwidth is the region-timed walk rate (walk release →
 * memory commit, the fill excluded) and the VRAM the
 * working set the walk proved, never the agent's copy test or allocation report (kept as
 * evidence); then the part is classified by the three measured figures (part-classifier.ts) and
 * listed as what it matched. Only when no part matches is it judged against the claim.
 */

/** What the agent reports about itself and the memory phase now measures instead. */
const SELF_REPORTED = new Set([
  "bandwidth_buffer_too_small",
  "bandwidth_impossible",
  "bandwidth_below_threshold",
  "vram_not_shown",
]);

export interface MemoryJudgementInput {
  model: GpuModel;
  challenge: VerificationChallenge;
  spec: MemoryWalkSize;
  phase: MemoryPhase;
  plan: WalkPlan;
  openings: readonly WalkOpening[];
  /** The compute phase's judgement (judgement.ts). */
  compute: { findings: Finding[]; measured: Measured };
  catalogue?: ModelLookup;
}

export async function judgeMemory(
  input: MemoryJudgementInput,
): Promise<{ findings: Finding[]; measured: Measured; listedAs: string | null }> {
  const { model, challenge, spec, phase } = input;
  const keys = walkKeys(matrixKeys(phase.fill.seed), matrixKeys(phase.release.seed));
  const walk = await checkWalkOpenings(keys, spec, phase.root, input.plan, input.openings);
  // The walk alone: walk release → memory commit (the fill has its own window and proves nothing).
  const memoryElapsedMs = phase.committedAt - phase.release.releasedAt;
  const bandwidthGBps = walkRateGBps(spec, memoryElapsedMs);
  const provenVramMib = walk.failures.length === 0 ? workingSetBytesOf(spec) / 2 ** 20 : 0;
  const measured: Measured = {
    ...input.compute.measured,
    bandwidthGBps,
    bandwidthRatio: bandwidthGBps / model.memoryBandwidthGBps,
    vramRatio: challenge.vramMib > 0 ? provenVramMib / challenge.vramMib : 0,
    memoryElapsedMs,
    provenVramMib,
  };
  const walkFailures: Finding[] = walk.failures.map((reason) => ({ outcome: "rejected", reason }));
  const compute = input.compute.findings.filter((f) => !SELF_REPORTED.has(f.reason?.code ?? ""));
  const integrity = compute.filter(
    (f) => f.outcome === "rejected" && f.reason?.code !== "compute_below_threshold",
  );
  const catalogue = input.catalogue
    ? GPU_CATALOG.flatMap((m) => {
        const scaled = input.catalogue?.(m.id);
        return scaled ? [scaled] : [];
      })
    : GPU_CATALOG;
  const listed =
    walkFailures.length === 0 && integrity.length === 0
      ? classifyPart(
          model,
          { tflops: measured.tflops, bandwidthGBps, provenVramMib },
          challenge.dtype,
          catalogue,
        ).model
      : undefined;
  if (listed?.id === model.id)
    return { findings: [...walkFailures, ...compute], measured, listedAs: listed.id };
  if (listed) {
    const reason = {
      code: "listed_as_measured",
      message: `measured as a ${listed.id} (${measured.tflops.toFixed(0)} TFLOP/s, ${bandwidthGBps.toFixed(0)} GB/s, ${Math.round(provenVramMib)} MiB proven), not the ${model.id} claimed: listed and priced as a ${listed.id}`,
    };
    return { findings: [{ outcome: "verified", reason }], measured, listedAs: listed.id };
  }
  return {
    findings: [...walkFailures, ...compute, walkFinding(measured.bandwidthRatio, bandwidthGBps, model)],
    measured,
    listedAs: null,
  };
}

function walkFinding(ratio: number, gbps: number, model: GpuModel): Finding {
  const what = `the memory walk read at ${gbps.toFixed(0)} GB/s, ${(ratio * 100).toFixed(1)}% of the ${model.id} datasheet`;
  if (ratio > WALK_BANDWIDTH_IMPOSSIBLE_ABOVE) {
    return {
      outcome: "rejected",
      reason: { code: "bandwidth_impossible", message: `${what}: beyond the part, so the timings are false` },
    };
  }
  if (ratio >= WALK_BANDWIDTH_VERIFIED_AT) {
    return {
      outcome: "suspect",
      reason: {
        code: "no_part_matches",
        message: `${what}; no catalogue part matches all the measured figures`,
      },
    };
  }
  return {
    outcome: ratio >= WALK_BANDWIDTH_VERIFIED_AT / 2 ? "suspect" : "rejected",
    reason: {
      code: "bandwidth_below_threshold",
      message: `${what}, below ${WALK_BANDWIDTH_VERIFIED_AT * 100}%`,
    },
  };
}
