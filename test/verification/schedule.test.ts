import { describe, expect, it } from "vitest";
import { recordJudgement } from "../../src/durable/verification/desk-judgement.js";
import { unverifiedGpu } from "../../src/durable/verification/node-verification.js";
import { GPU_CATALOG } from "../../src/shared/gpu-catalog.js";
import { issueChallenge } from "../../src/shared/verification/challenge-lifecycle.js";
import { challengeSizeFor } from "../../src/shared/verification/challenge-size.js";
import { memoryWalkFor } from "../../src/shared/verification/memory-size.js";
import type { VerificationJudgement, VerificationOutcome } from "../../src/shared/verification/messages.js";
import {
  estimateChallengeGpuMs,
  gpuTimeFraction,
  meanDelayFor,
  nextChallengeDelayMs,
  SUSPECT_RECHALLENGE_MS,
  targetFractionFor,
} from "../../src/shared/verification/rechallenge-schedule.js";
import { seededRandom } from "./support.js";

const NODE = "node_0123456789abcdefghjkmnpqrs";

describe("re-challenge schedule", () => {
  it("keeps verification at or under 1% of every catalogue GPU's time (simulated over 20,000 intervals)", () => {
    for (const model of GPU_CATALOG) {
      const busyMs = estimateChallengeGpuMs(model, challengeSizeFor(model));
      expect(gpuTimeFraction(busyMs, meanDelayFor(busyMs))).toBeCloseTo(0.008, 6);
      const random = seededRandom(model.vramGb);
      let busy = 0;
      let total = 0;
      let shortest = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 20_000; i++) {
        const delay = nextChallengeDelayMs({ outcome: "verified", busyMs, random });
        if (delay === undefined) throw new Error("verified nodes are re-challenged");
        shortest = Math.min(shortest, delay);
        busy += busyMs;
        total += busyMs + delay;
      }
      expect(shortest).toBeGreaterThanOrEqual(meanDelayFor(busyMs) / 4 - 1);
      expect(busy / total).toBeLessThanOrEqual(0.01);
      expect(busy / total).toBeGreaterThan(0.006);
    }
  });

  it("re-challenges a suspect node within minutes and a rejected one never", () => {
    const random = seededRandom(1);
    for (let i = 0; i < 100; i++) {
      const delay = nextChallengeDelayMs({ outcome: "suspect", busyMs: 20_000, random }) ?? -1;
      expect(delay).toBeGreaterThanOrEqual(SUSPECT_RECHALLENGE_MS.min);
      expect(delay).toBeLessThanOrEqual(SUSPECT_RECHALLENGE_MS.max);
    }
    expect(nextChallengeDelayMs({ outcome: "rejected", busyMs: 20_000, random })).toBeUndefined();
  });

  it("checks a GPU with a long clean history at 0.4% of its time, and a new or changed one at 0.8%", () => {
    const claim = { uuid: "GPU-a", model: "H100-SXM", vramMib: 81_200 };
    const gpu = unverifiedGpu(claim, true, 0);
    const random = seededRandom(7);
    const model = GPU_CATALOG.find((m) => m.id === "H100-SXM");
    if (!model) throw new Error("no H100-SXM");
    const busyMs = estimateChallengeGpuMs(
      model,
      challengeSizeFor(model),
      memoryWalkFor(model, claim.vramMib),
    );
    /** Judges the GPU `count` times; the mean planned delay over those judgements. */
    const judge = (outcome: VerificationOutcome, listedAs: string, count: number): number => {
      let delays = 0;
      for (let i = 0; i < count; i++) {
        const now = (gpu.lastJudgedAt ?? 0) + 1_000;
        const record = issueChallenge({ nodeId: NODE, gpu: claim, now, random });
        const judgement: VerificationJudgement = {
          challengeId: record.challenge.id,
          nodeId: NODE,
          gpuUuid: claim.uuid,
          model: claim.model,
          outcome,
          reasons: [],
          listedAs,
          checkedEntries: 64,
          judgedAt: now,
        };
        recordJudgement(gpu, { state: "judged", challenge: record.challenge, judgement }, record, judgement, {
          random,
        });
        delays += (gpu.nextChallengeAt ?? now) - now;
      }
      return delays / count;
    };
    expect(targetFractionFor(0)).toBe(0.008);
    expect(targetFractionFor(3)).toBe(0.004);
    judge("verified", "H100-SXM", 2);
    expect(gpu.cleanPasses).toBe(2);
    // From the third clean pass on, the mean interval doubles (0.8% → 0.4% of GPU time).
    const established = judge("verified", "H100-SXM", 400);
    expect(gpu.cleanPasses).toBe(402);
    expect(established).toBeGreaterThan(0.9 * meanDelayFor(busyMs, 0.004));
    expect(established).toBeLessThan(1.1 * meanDelayFor(busyMs, 0.004));
    expect(gpuTimeFraction(busyMs, established)).toBeLessThanOrEqual(0.005);
    // A pass as another part starts the count again; so does a suspect judgement.
    judge("verified", "H100-PCIE", 1);
    expect(gpu.cleanPasses).toBe(1);
    const fresh = judge("verified", "H100-PCIE", 1);
    expect(fresh).toBeLessThan(meanDelayFor(busyMs, 0.008) * 4);
    judge("suspect", "H100-PCIE", 1);
    expect(gpu.cleanPasses).toBe(0);
  });
});
