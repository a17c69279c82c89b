import { describe, expect, it } from "vitest";
import { GPU_CATALOG } from "../../src/shared/gpu-catalog.js";
import { challengeSizeFor } from "../../src/shared/verification/challenge-size.js";
import {
  estimateChallengeGpuMs,
  gpuTimeFraction,
  meanDelayFor,
  nextChallengeDelayMs,
  SUSPECT_RECHALLENGE_MS,
} from "../../src/shared/verification/rechallenge-schedule.js";
import { seededRandom } from "./support.js";

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
});
