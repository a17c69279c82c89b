import type { GpuModel } from "../gpu-catalog.js";
import { datasheetTflops, flopsOf } from "./challenge-size.js";
import type {
  JudgementReason,
  VerificationChallenge,
  VerificationCommit,
  VerificationJudgement,
  VerificationOutcome,
} from "./messages.js";
import {
  BANDWIDTH_IMPOSSIBLE_ABOVE,
  BANDWIDTH_REJECT_BELOW,
  BANDWIDTH_VERIFIED_AT,
  COMPUTE_IMPOSSIBLE_ABOVE,
  COMPUTE_REJECT_BELOW,
  COMPUTE_VERIFIED_AT,
  VRAM_CLAIM_TOLERANCE,
  VRAM_REJECT_BELOW,
  VRAM_VERIFIED_AT,
} from "./thresholds.js";

export interface Finding {
  outcome: VerificationOutcome;
  reason?: JudgementReason;
}

export type Measured = NonNullable<VerificationJudgement["measured"]>;

const RANK: Record<VerificationOutcome, number> = { verified: 0, suspect: 1, rejected: 2 };

export function worstOutcome(outcomes: readonly VerificationOutcome[]): VerificationOutcome {
  return outcomes.reduce<VerificationOutcome>((worst, o) => (RANK[o] > RANK[worst] ? o : worst), "verified");
}

function banded(ratio: number, verifiedAt: number, rejectBelow: number, code: string, what: string): Finding {
  const percent = `${(ratio * 100).toFixed(1)}%`;
  if (ratio >= verifiedAt) return { outcome: "verified" };
  if (ratio >= rejectBelow) {
    return {
      outcome: "suspect",
      reason: { code, message: `${what} is ${percent}, below ${verifiedAt * 100}%` },
    };
  }
  return {
    outcome: "rejected",
    reason: { code, message: `${what} is ${percent}: the claimed part is not what ran the benchmark` },
  };
}

/**
 * Judges the committed figures against the catalogue: ≥ 70% of datasheet dense BF16/FP16, ≥ 80% of
 * datasheet bandwidth, ≥ 95% of the claimed VRAM allocated. The compute rate is the verifier's own
 * measurement: the challenge's FLOPs over `elapsedMs`, release (the seed) to commit on its clock,
 * which includes the digests and the round trip, so it can only understate a part (by ~4% for a
 * production challenge). What the agent says its products took is kept as evidence and checked for
 * consistency (more GPU time than elapsed is a lie), never turned into a figure.
 */
export function judgeMeasurements(
  model: GpuModel,
  challenge: VerificationChallenge,
  commit: VerificationCommit,
  elapsedMs: number,
): { findings: Finding[]; measured: Measured } {
  const m = commit.measured;
  const flops = flopsOf(challenge);
  // A commit in the release's own millisecond is clocked at 1 ms, the clock's resolution.
  const tflops = flops / (Math.max(1, elapsedMs) / 1000) / 1e12;
  const claimedTflops = flops / (m.matmulMs / 1000) / 1e12;
  const computeRatio = tflops / datasheetTflops(model, challenge.dtype);
  const bandwidthRatio = m.bandwidthGBps / model.memoryBandwidthGBps;
  const vramRatio = challenge.vramMib > 0 ? m.vramAllocatedMib / challenge.vramMib : 0;
  const findings: Finding[] = [];

  if (m.matmulMs > elapsedMs) {
    findings.push({
      outcome: "rejected",
      reason: {
        code: "timing_inconsistent",
        message: `claims ${m.matmulMs} ms of GPU time in ${elapsedMs} ms from release to commit`,
      },
    });
  }
  if (computeRatio > COMPUTE_IMPOSSIBLE_ABOVE) {
    findings.push({
      outcome: "rejected",
      reason: {
        code: "compute_impossible",
        message: `${tflops.toFixed(1)} TFLOP/s from release to commit is beyond the ${model.id} datasheet: another part answered`,
      },
    });
  } else {
    findings.push(
      banded(
        computeRatio,
        COMPUTE_VERIFIED_AT,
        COMPUTE_REJECT_BELOW,
        "compute_below_threshold",
        `${challenge.dtype} matmul at ${tflops.toFixed(1)} TFLOP/s, of the ${model.id} datasheet,`,
      ),
    );
  }
  if (m.bandwidthBytes < challenge.bandwidthBytes) {
    findings.push({
      outcome: "rejected",
      reason: {
        code: "bandwidth_buffer_too_small",
        message: `bandwidth measured on ${m.bandwidthBytes} bytes, ${challenge.bandwidthBytes} required`,
      },
    });
  } else if (bandwidthRatio > BANDWIDTH_IMPOSSIBLE_ABOVE) {
    findings.push({
      outcome: "rejected",
      reason: {
        code: "bandwidth_impossible",
        message: `${m.bandwidthGBps} GB/s is beyond the ${model.id} datasheet: the timings are false`,
      },
    });
  } else {
    findings.push(
      banded(
        bandwidthRatio,
        BANDWIDTH_VERIFIED_AT,
        BANDWIDTH_REJECT_BELOW,
        "bandwidth_below_threshold",
        `memory bandwidth at ${m.bandwidthGBps.toFixed(0)} GB/s, of the ${model.id} datasheet,`,
      ),
    );
  }
  if (challenge.vramMib > model.vramGb * 1024 * VRAM_CLAIM_TOLERANCE) {
    findings.push({
      outcome: "rejected",
      reason: {
        code: "vram_claim_exceeds_model",
        message: `claims ${challenge.vramMib} MiB on a ${model.id}, which has ${model.vramGb} GB`,
      },
    });
  }
  findings.push(
    banded(
      vramRatio,
      VRAM_VERIFIED_AT,
      VRAM_REJECT_BELOW,
      "vram_not_shown",
      `VRAM allocated (${m.vramAllocatedMib} of ${challenge.vramMib} MiB claimed)`,
    ),
  );
  return {
    findings,
    measured: {
      tflops,
      elapsedMs,
      claimedTflops,
      bandwidthGBps: m.bandwidthGBps,
      vramAllocatedMib: m.vramAllocatedMib,
      computeRatio,
      bandwidthRatio,
      vramRatio,
    },
  };
}
