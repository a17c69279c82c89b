import { describe, expect, it } from "vitest";
import { GPU_CATALOG, gpuModelById } from "../../src/shared/gpu-catalog.js";
import {
  acceptCommit,
  type ChallengeRecord,
  expireChallenge,
  issueChallenge,
} from "../../src/shared/verification/challenge-lifecycle.js";
import {
  challengeSizeFor,
  commitWindowMs,
  computeMsAt,
  DEFAULT_WINDOW,
  flopsOf,
} from "../../src/shared/verification/challenge-size.js";
import type { VerificationChallenge, VerificationCommit } from "../../src/shared/verification/messages.js";
import { RUNNER, refusal } from "./protocol-play.js";
import { H100_VRAM_MIB, h100Figures, NODE, released, seededRandom, T0 } from "./support.js";

describe("challenge sizing and the compute-bound window", () => {
  const h100 = gpuModelById("H100-SXM");
  const rtx4090 = gpuModelById("RTX-4090");
  if (!h100 || !rtx4090) throw new Error("catalogue");

  it("sizes production challenges from the catalogue: ~15–20 s of datasheet compute, seed only at release", () => {
    for (const model of GPU_CATALOG) {
      const size = challengeSizeFor(model);
      const atDatasheet = computeMsAt(model, size, 1);
      expect(atDatasheet).toBeGreaterThanOrEqual(15_000);
      expect(atDatasheet).toBeLessThanOrEqual(20_000);
      // A, one B block and one C block at a time, plus the digests (8 bytes a row a block).
      expect((3 * size.n * size.n * 2 + size.n * size.blocks * 8) / 2 ** 20).toBeLessThan(
        model.vramGb * 1000,
      );
      const issued = issueChallenge({
        memory: null,
        nodeId: NODE,
        gpu: { uuid: "GPU-x", model: model.id, vramMib: model.vramGb * 1000 },
        now: T0,
      });
      expect(issued.challenge).not.toHaveProperty("seed");
      expect(issued.challenge.readyBy - T0).toBe(DEFAULT_WINDOW.readyAllowanceMs);
      const record = released(issued, T0 + 30_000, 1, gpuModelById);
      expect(record.release.seed).toMatch(/^[0-9a-f]{64}$/);
      expect(record.release.releasedAt).toBe(T0 + 30_000);
      expect(record.release.expiresAt - record.release.releasedAt).toBe(commitWindowMs(model, size));
    }
    // n = 16384 on an H100: thousands of blocks, generated and dropped one at a time.
    expect(challengeSizeFor(h100).blocks).toBeGreaterThan(1_000);
  });

  /**
   * The agent's clock, injected: a commit arrives at release + the time the hardware needs for the
   * products + what digests, the Merkle tree and the round trips take. The figures it reports are
   * whatever it likes; only the arrival time is out of its hands.
   */
  function commitAt(record: ChallengeRecord & { state: "released" }, tflops: number, overheadMs: number) {
    return record.release.releasedAt + (flopsOf(record.challenge) / (tflops * 1e12)) * 1000 + overheadMs;
  }
  const lieAbout = (challenge: VerificationChallenge): VerificationCommit => ({
    challengeId: challenge.id,
    root: "ab".repeat(32),
    measured: h100Figures(challenge, 790, 1),
    runner: RUNNER,
  });
  const fullSize = (model: string) =>
    released(
      issueChallenge({
        memory: null,
        nodeId: NODE,
        gpu: { uuid: "GPU-x", model, vramMib: H100_VRAM_MIB },
        now: T0,
        random: seededRandom(11),
      }),
      T0 + 2_000,
      1,
      gpuModelById,
    );

  it("an honest H100 (790 TFLOP/s, 80% of datasheet) commits in time with seconds to spare", () => {
    const record = fullSize("H100-SXM");
    const at = commitAt(record, 790, 1_500);
    expect(record.release.expiresAt - at).toBeGreaterThan(5_000);
    expect(() => acceptCommit(record, lieAbout(record.challenge), { nodeId: NODE, now: at })).not.toThrow();
    // Still in time at the 70% verified threshold with a slow host's 3 s of digests and round trips.
    expect(() =>
      acceptCommit(record, lieAbout(record.challenge), {
        nodeId: NODE,
        now: commitAt(record, 0.7 * 989, 3_000),
      }),
    ).not.toThrow();
  });

  it("an RTX 4090 claiming to be an H100 misses the window even if it lies about its timings", async () => {
    const record = fullSize("H100-SXM");
    // Its full datasheet rate and no overhead at all: the most a 4090 could possibly do.
    const at = commitAt(record, rtx4090.bf16Tflops, 0);
    expect(at).toBeGreaterThan(record.release.expiresAt);
    expect(
      await refusal(() => acceptCommit(record, lieAbout(record.challenge), { nodeId: NODE, now: at })),
    ).toBe("challenge_expired");
    expect(expireChallenge(record, at)?.judgement.outcome).toBe("rejected");
  });

  it("any part at ≤ 50% of the claimed model's speed misses the window, for every catalogue model", async () => {
    for (const model of GPU_CATALOG) {
      const record = fullSize(model.id);
      const tflops = 0.5 * (record.challenge.dtype === "bf16" ? model.bf16Tflops : model.fp16Tflops);
      const at = commitAt(record, tflops, 0);
      expect(at, model.id).toBeGreaterThan(record.release.expiresAt);
      expect(
        await refusal(() => acceptCommit(record, lieAbout(record.challenge), { nodeId: NODE, now: at })),
      ).toBe("challenge_expired");
      // And the same model at 75% of datasheet with 2 s of overhead makes it.
      const honestAt = commitAt(record, 0.75 * (tflops / 0.5), 2_000);
      expect(honestAt, model.id).toBeLessThan(record.release.expiresAt);
    }
  });

  it("the setup before the seed is free of the window: a slow start does not eat compute time", () => {
    const issued = fullSize("H100-SXM");
    const late = released(
      issueChallenge({
        memory: null,
        nodeId: NODE,
        gpu: { uuid: "GPU-x", model: "H100-SXM", vramMib: H100_VRAM_MIB },
        now: T0,
        random: seededRandom(11),
      }),
      T0 + 110_000,
      1,
      gpuModelById,
    );
    expect(late.release.expiresAt - late.release.releasedAt).toBe(
      issued.release.expiresAt - issued.release.releasedAt,
    );
  });
});
