import { describe, expect, it } from "vitest";
import { gpuModelById } from "../../src/shared/gpu-catalog.js";
import {
  acceptAnswer,
  acceptCommit,
  acceptReady,
  expireChallenge,
  issueChallenge,
} from "../../src/shared/verification/challenge-lifecycle.js";
import { challengeSizeFor, commitWindowMs, flopsOf } from "../../src/shared/verification/challenge-size.js";
import { prepareCpuBenchmark } from "../../src/shared/verification/cpu-benchmark.js";
import type { VerificationCommit } from "../../src/shared/verification/messages.js";
import { codes, forger, honest, play, RUNNER, refusal } from "./protocol-play.js";
import {
  H100_VRAM_MIB,
  h100Figures,
  issueSmall,
  NODE,
  OTHER_NODE,
  released,
  SCALE,
  scaledMs,
  seededRandom,
  T0,
  testModels,
} from "./support.js";

describe("an honest agent", () => {
  it("is verified as the H100 it is, with its figures", async () => {
    const judgement = await play(issueSmall(), honest());
    expect(judgement.outcome).toBe("verified");
    expect(judgement.reasons).toEqual([]);
    expect(judgement.checkedEntries).toBe(16 * 4);
    // The verifier's own figure: the FLOPs over release → commit, digests and round trip included.
    const challenge = issueSmall().challenge;
    const elapsed = scaledMs(challenge, 790) * 1.02;
    expect(judgement.measured?.elapsedMs).toBeCloseTo(elapsed, 3);
    expect((judgement.measured?.tflops ?? 0) / SCALE).toBeCloseTo(790 / 1.02, 3);
    expect(judgement.measured?.computeRatio).toBeCloseTo(790 / 1.02 / 989, 6);
    expect((judgement.measured?.claimedTflops ?? 0) / SCALE).toBeCloseTo(790, 3);
  });

  it("is verified through the TypeScript CPU benchmark session too (fp16, other sizes)", async () => {
    for (const [n, blocks] of [
      [16, 1],
      [128, 4],
    ] as const) {
      const record = issueChallenge({
        memory: null,
        nodeId: NODE,
        gpu: { uuid: "GPU-x", model: "H100-SXM", vramMib: H100_VRAM_MIB },
        now: T0,
        dtype: "fp16",
        size: { n, blocks },
        random: seededRandom(n),
        models: testModels,
      });
      const prepared = await prepareCpuBenchmark(record.challenge, { bandwidthBytes: 1024 * 1024 });
      let mode = "";
      let session: Awaited<ReturnType<typeof prepared.run>> | undefined;
      const judgement = await play(record, {
        commit: async (challenge, release) => {
          session = await prepared.run(release);
          mode = session.commit.runner.mode;
          return { ...session.commit, measured: h100Figures(challenge) };
        },
        answer: async (challenge, _release, leaves) => {
          if (session === undefined) throw new Error("committed first");
          return session.answer({ challengeId: challenge.id, leaves, answerBy: 0 });
        },
      });
      expect(judgement.outcome).toBe("verified");
      expect(mode).toBe("typescript-cpu");
    }
  });

  it("is suspect when busy or throttled (60% of datasheet), not rejected", async () => {
    const judgement = await play(
      issueSmall(),
      honest((c) => h100Figures(c, 600)),
    );
    expect(judgement.outcome).toBe("suspect");
    expect(codes(judgement)).toEqual(["compute_below_threshold"]);
  });
});

describe("a lying agent is caught every time", () => {
  it("claims an H100 but computes on the CPU and reports the CPU's figures: rejected", async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const record = issueSmall({ seed });
      const prepared = await prepareCpuBenchmark(record.challenge, { bandwidthBytes: 1024 * 1024 });
      let session: Awaited<ReturnType<typeof prepared.run>> | undefined;
      const judgement = await play(record, {
        commit: async (_challenge, release) => {
          session = await prepared.run(release);
          return session.commit;
        },
        answer: async (challenge, _release, leaves) => {
          if (session === undefined) throw new Error("committed first");
          return session.answer({ challengeId: challenge.id, leaves, answerBy: 0 });
        },
        // Even were it fast enough to commit at an H100's pace, its own figures give it away.
        commitAfterMs: scaledMs(record.challenge, 790) + 50,
      });
      expect(judgement.outcome).toBe("rejected");
      expect(codes(judgement)).toContain("bandwidth_buffer_too_small");
      expect(codes(judgement)).toContain("vram_not_shown");
    }
  });

  it("claims an H100, computes on a CPU at a CPU's pace: the commit misses the window", async () => {
    const record = released(issueSmall());
    // 2 TFLOP/s: a 64-core AVX-512 server on this product.
    const at = record.release.releasedAt + scaledMs(record.challenge, 2);
    const commit = await honest().commit(record.challenge, record.release);
    expect(await refusal(() => acceptCommit(record, commit, { nodeId: NODE, now: at }))).toBe(
      "challenge_expired",
    );
    expect(expireChallenge(record, at)?.judgement.outcome).toBe("rejected");
  });

  it("claims an H100, computes on a CPU and lies about the time: the commit misses the window", async () => {
    const model = gpuModelById("H100-SXM");
    if (!model) throw new Error("catalogue");
    const size = challengeSizeFor(model);
    // A fast server CPU: 64 cores of AVX-512 at about 2 TFLOP/s sustained on this product.
    const cpuMs = (flopsOf(size) / 2e12) * 1000;
    expect(cpuMs).toBeGreaterThan(commitWindowMs(model, size));
    const record = released(
      issueChallenge({
        memory: null,
        nodeId: NODE,
        gpu: { uuid: "GPU-x", model: "H100-SXM", vramMib: H100_VRAM_MIB },
        now: T0,
        random: seededRandom(3),
      }),
      T0 + 2_000,
      1,
      gpuModelById,
    );
    const lie: VerificationCommit = {
      challengeId: record.challenge.id,
      root: "ab".repeat(32),
      measured: h100Figures(record.challenge, 790, 1),
      runner: RUNNER,
    };
    const at = record.release.releasedAt + cpuMs;
    expect(await refusal(() => acceptCommit(record, lie, { nodeId: NODE, now: at }))).toBe(
      "challenge_expired",
    );
    const expired = expireChallenge(record, at);
    expect(expired?.judgement.outcome).toBe("rejected");
    expect(expired && codes(expired.judgement)).toEqual(["deadline_missed"]);
  });

  it("is a smaller GPU claiming an H100 (an RTX 4090's 160 TFLOP/s): misses the window, whatever it reports", async () => {
    const record = released(issueSmall());
    const at = record.release.releasedAt + scaledMs(record.challenge, 160) + 50;
    const lie = await honest().commit(record.challenge, record.release);
    expect(await refusal(() => acceptCommit(record, lie, { nodeId: NODE, now: at }))).toBe(
      "challenge_expired",
    );
    // Reporting its true figures in time does not help either: bandwidth and VRAM are judged.
    const judgement = await play(
      issueSmall(),
      honest((c) => ({ ...h100Figures(c), bandwidthGBps: 950, vramAllocatedMib: 23_000 })),
    );
    expect(judgement.outcome).toBe("rejected");
    expect(codes(judgement)).toEqual(["bandwidth_below_threshold", "vram_not_shown"]);
  });

  it("returns wrong entries (made-up rows under a consistent tree): rejected, every seed", async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const record = issueSmall({ seed });
      const judgement = await play(
        record,
        forger(() => true),
        seed,
      );
      expect(judgement.outcome).toBe("rejected");
      expect(codes(judgement)).toContain("wrong_entry");
    }
  });

  it("does half the work (half the rows right): rejected, every seed (pass chance 2^-16 each)", async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const record = issueSmall({ seed, n: 64, blocks: 4 });
      const judgement = await play(
        record,
        forger((leaf) => leaf % 2 === 1),
        seed,
      );
      expect(judgement.outcome).toBe("rejected");
    }
  });

  it("commits a root that its answers do not match: rejected", async () => {
    const agent = honest();
    const judgement = await play(issueSmall(), {
      commit: async (challenge, release) => ({
        ...(await agent.commit(challenge, release)),
        root: "cd".repeat(32),
      }),
      answer: agent.answer,
    });
    expect(judgement.outcome).toBe("rejected");
    expect(codes(judgement)).toContain("proof_mismatch");
  });

  it("opens rows other than those asked, or fewer: rejected", async () => {
    const agent = honest();
    const judgement = await play(issueSmall(), {
      commit: agent.commit,
      answer: async (challenge, release, leaves) => {
        const all = await agent.answer(challenge, release, leaves);
        return { ...all, openings: all.openings.slice(1) };
      },
    });
    expect(judgement.outcome).toBe("rejected");
    expect(codes(judgement)).toContain("missing_opening");
    const shifted = await play(issueSmall(), {
      commit: agent.commit,
      answer: async (challenge, release, leaves) => {
        const other = await agent.answer(
          challenge,
          release,
          leaves.map((leaf) => (leaf + 1) % (challenge.n * challenge.blocks)),
        );
        return {
          ...other,
          openings: other.openings.map((opening, i) => ({ ...opening, leaf: leaves[i] ?? 0 })),
        };
      },
    });
    expect(shifted.outcome).toBe("rejected");
  });

  it("answers someone else's challenge: refused, and the record is unchanged", async () => {
    const issued = issueSmall();
    const ready = { challengeId: issued.challenge.id };
    expect(await refusal(() => acceptReady(issued, ready, { nodeId: OTHER_NODE, now: T0 + 1 }))).toBe(
      "challenge_not_yours",
    );
    const record = released(issued);
    const commit = await honest().commit(record.challenge, record.release);
    expect(await refusal(() => acceptCommit(record, commit, { nodeId: OTHER_NODE, now: T0 + 3_000 }))).toBe(
      "challenge_not_yours",
    );
    const other = issueSmall({ seed: 99 });
    expect(
      await refusal(() =>
        acceptCommit(
          record,
          { ...commit, challengeId: other.challenge.id },
          { nodeId: NODE, now: T0 + 3_000 },
        ),
      ),
    ).toBe("challenge_mismatch");
    const committed = acceptCommit(record, commit, {
      nodeId: NODE,
      now: T0 + 3_000,
      random: seededRandom(1),
    });
    const answer = await honest().answer(record.challenge, record.release, committed.request.leaves);
    expect(
      await refusal(() => acceptAnswer(committed.record, answer, { nodeId: OTHER_NODE, now: T0 + 4_000 })),
    ).toBe("challenge_not_yours");
    expect(committed.record.state).toBe("committed");
  });
});
