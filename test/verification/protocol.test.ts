import { describe, expect, it } from "vitest";
import { GPU_CATALOG, gpuModelById } from "../../src/shared/gpu-catalog.js";
import { toBase64 } from "../../src/shared/verification/bytes.js";
import {
  acceptAnswer,
  acceptCommit,
  acceptReady,
  type ChallengeRecord,
  deadlineOf,
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
import {
  type ComputedProduct,
  computeProduct,
  openLeaves,
  prepareCpuBenchmark,
} from "../../src/shared/verification/cpu-benchmark.js";
import { leafDigest, merkleLevels, rootOf } from "../../src/shared/verification/merkle.js";
import type {
  ChallengeRelease,
  VerificationAnswer,
  VerificationChallenge,
  VerificationCommit,
  VerificationJudgement,
} from "../../src/shared/verification/messages.js";
import { digestKeys, digestVectorBytes, rowDigest } from "../../src/shared/verification/row-digest.js";
import { matrixKeys } from "../../src/shared/verification/seeded-matrix.js";
import { VerificationError } from "../../src/shared/verification/verification-error.js";
import {
  asReleased,
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

const RUNNER: VerificationCommit["runner"] = {
  mode: "host-process",
  backend: "test",
  device: "NVIDIA H100 80GB HBM3",
};

interface Play {
  commit: (challenge: VerificationChallenge, release: ChallengeRelease) => Promise<VerificationCommit>;
  answer: (
    challenge: VerificationChallenge,
    release: ChallengeRelease,
    leaves: number[],
  ) => Promise<VerificationAnswer>;
  /**
   * From release (the seed) to the commit arriving, on the verifier's clock: by default the
   * products' time the agent reports plus 2% for digests and the round trip — an honest agent's.
   */
  commitAfterMs?: number;
}

/** An agent that computes the product honestly (on this CPU) and reports given GPU figures. */
function honest(
  figures: (challenge: VerificationChallenge) => VerificationCommit["measured"] = h100Figures,
): Play {
  const products = new Map<string, ComputedProduct>();
  const productOf = async (challenge: VerificationChallenge, seed: string) => {
    const known = products.get(`${challenge.id}/${seed}`);
    if (known) return known;
    const computed = await computeProduct(challenge, seed);
    products.set(`${challenge.id}/${seed}`, computed);
    return computed;
  };
  return {
    commit: async (challenge, release) => ({
      challengeId: challenge.id,
      root: (await productOf(challenge, release.seed)).root,
      measured: figures(challenge),
      runner: RUNNER,
    }),
    answer: async (challenge, release, leaves) =>
      openLeaves(await productOf(challenge, release.seed), {
        challengeId: challenge.id,
        leaves,
        answerBy: 0,
      }),
  };
}

async function play(record: ChallengeRecord, agent: Play, seed = 7): Promise<VerificationJudgement> {
  if (record.state !== "issued") throw new Error("start from an issued challenge");
  const { challenge } = record;
  const ready = released(record, T0 + 2_000, seed);
  const { release } = ready;
  const commit = await agent.commit(challenge, release);
  const commitAt = release.releasedAt + (agent.commitAfterMs ?? commit.measured.matmulMs * 1.02);
  const committed = acceptCommit(ready, commit, {
    nodeId: NODE,
    now: commitAt,
    random: seededRandom(seed),
  });
  const answer = await agent.answer(challenge, release, committed.request.leaves);
  const { judgement } = await acceptAnswer(committed.record, answer, {
    nodeId: NODE,
    now: commitAt + 1_000,
    models: testModels,
  });
  return judgement;
}

function codes(judgement: VerificationJudgement): string[] {
  return judgement.reasons.map((reason) => reason.code);
}

async function refusal(action: () => unknown): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (error instanceof VerificationError) return error.code;
    throw error;
  }
  throw new Error("expected a refusal");
}

/**
 * A product that is wrong in the given rows (their values replaced), with digests and a tree that
 * are consistent with the made-up rows: what a cheat that skips the work might commit to.
 */
async function forged(
  challenge: VerificationChallenge,
  seed: string,
  wrongRow: (leaf: number) => boolean,
): Promise<ComputedProduct> {
  const product = await computeProduct(challenge, seed);
  const rows = product.rows.map((row, leaf) => {
    if (!wrongRow(leaf)) return row;
    const copy = new Uint8Array(row);
    for (let k = 0; k < copy.length; k += 2) copy[k] = (copy[k] ?? 0) ^ 0x5a;
    return copy;
  });
  const key = digestKeys(matrixKeys(seed), challenge.n);
  const digestVectors = Array.from({ length: challenge.blocks }, (_, block) =>
    digestVectorBytes(
      Uint32Array.from({ length: challenge.n }, (_, i) =>
        rowDigest(rows[block * challenge.n + i] ?? new Uint8Array(0), key),
      ),
    ),
  );
  const levels = await merkleLevels(await Promise.all(digestVectors.map((vector) => leafDigest(vector))));
  return { ...product, root: rootOf(levels), rows, digestVectors, levels };
}

/** An agent that commits to a forged product and opens it consistently. */
function forger(wrongRow: (leaf: number) => boolean): Play {
  let fake: ComputedProduct | undefined;
  return {
    commit: async (challenge, release) => {
      fake = await forged(challenge, release.seed, wrongRow);
      return { challengeId: challenge.id, root: fake.root, measured: h100Figures(challenge), runner: RUNNER };
    },
    answer: async (challenge, _release, leaves) => {
      if (fake === undefined) throw new Error("committed first");
      return openLeaves(fake, { challengeId: challenge.id, leaves, answerBy: 0 });
    },
  };
}

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

  it("misses the setup deadline: ready refused, then rejected (deadline_missed)", async () => {
    const record = issueSmall();
    const late = record.challenge.readyBy + 1;
    expect(deadlineOf(record)).toBe(record.challenge.readyBy);
    expect(
      await refusal(() =>
        acceptReady(record, { challengeId: record.challenge.id }, { nodeId: NODE, now: late }),
      ),
    ).toBe("challenge_expired");
    expect(expireChallenge(record, record.challenge.readyBy)).toBeUndefined();
    const expired = expireChallenge(record, late);
    expect(expired?.judgement.outcome).toBe("rejected");
    expect(expired && codes(expired.judgement)).toEqual(["deadline_missed"]);
    expect(expired?.judgement.reasons[0]?.message).toMatch(/no ready/);
  });

  it("answers an expired challenge: refused, then rejected when the deadline passes", async () => {
    const record = released(issueSmall());
    const agent = honest();
    const commit = await agent.commit(record.challenge, record.release);
    expect(deadlineOf(record)).toBe(record.release.expiresAt);
    const late = record.release.expiresAt + 1;
    expect(await refusal(() => acceptCommit(record, commit, { nodeId: NODE, now: late }))).toBe(
      "challenge_expired",
    );
    expect(expireChallenge(record, record.release.expiresAt)).toBeUndefined();
    expect(expireChallenge(record, late)?.judgement.outcome).toBe("rejected");
    expect(expireChallenge(record, late)?.judgement.reasons[0]?.message).toMatch(/no commit/);

    const commitAt = record.release.releasedAt + 10;
    const committed = acceptCommit(record, commit, { nodeId: NODE, now: commitAt, random: seededRandom(2) });
    expect(deadlineOf(committed.record)).toBe(committed.request.answerBy);
    const answer = await agent.answer(record.challenge, record.release, committed.request.leaves);
    const tooLate = committed.request.answerBy + 1;
    expect(await refusal(() => acceptAnswer(committed.record, answer, { nodeId: NODE, now: tooLate }))).toBe(
      "challenge_expired",
    );
    expect(expireChallenge(committed.record, tooLate)?.judgement.reasons[0]?.code).toBe("deadline_missed");
  });

  it("replays a ready, a commit or an answer: the same release, or refused; an old product: rejected", async () => {
    const issued = issueSmall();
    const agent = honest();
    const ready = { challengeId: issued.challenge.id };
    const first = acceptReady(issued, ready, {
      nodeId: NODE,
      now: T0 + 1_000,
      random: seededRandom(8),
      models: testModels,
    });
    // A lost answer retried: the same seed and deadline, not a fresh window.
    const again = acceptReady(first.record, ready, {
      nodeId: NODE,
      now: T0 + 9_000,
      random: seededRandom(9),
      models: testModels,
    });
    expect(again.release).toEqual(first.release);
    expect(again.record).toBe(first.record);
    const record = asReleased(first.record);
    const commit = await agent.commit(record.challenge, record.release);
    expect(await refusal(() => acceptCommit(issued, commit, { nodeId: NODE, now: T0 + 1_500 }))).toBe(
      "challenge_not_released",
    );
    const at = record.release.releasedAt + commit.measured.matmulMs * 1.02;
    const committed = acceptCommit(record, commit, {
      nodeId: NODE,
      now: at,
      random: seededRandom(3),
    });
    expect(await refusal(() => acceptCommit(committed.record, commit, { nodeId: NODE, now: at + 500 }))).toBe(
      "challenge_replayed",
    );
    expect(await refusal(() => acceptReady(committed.record, ready, { nodeId: NODE, now: at + 500 }))).toBe(
      "challenge_replayed",
    );
    const answer = await agent.answer(record.challenge, record.release, committed.request.leaves);
    const done = await acceptAnswer(committed.record, answer, {
      nodeId: NODE,
      now: at + 1_000,
      models: testModels,
    });
    expect(done.judgement.outcome).toBe("verified");
    expect(await refusal(() => acceptAnswer(done.record, answer, { nodeId: NODE, now: at + 2_000 }))).toBe(
      "challenge_replayed",
    );
    expect(await refusal(() => acceptAnswer(record, answer, { nodeId: NODE, now: at + 2_000 }))).toBe(
      "challenge_not_committed",
    );

    // The same node, a new challenge, last time's product relabelled: the seed changed, so it fails.
    const next = issueSmall({ seed: 2 });
    const old = await computeProduct(record.challenge, record.release.seed);
    const judgement = await play(next, {
      commit: async (challenge) => ({ ...commit, challengeId: challenge.id }),
      answer: async (challenge, _release, leaves) =>
        openLeaves(old, { challengeId: challenge.id, leaves, answerBy: 0 }),
    });
    expect(judgement.outcome).toBe("rejected");
    expect(codes(judgement)).toContain("digest_mismatch");
  });

  it("claims more VRAM than the part has, or than it can allocate: rejected", async () => {
    const tooMuch = await play(issueSmall({ vramMib: 160_000 }), honest());
    expect(tooMuch.outcome).toBe("rejected");
    expect(codes(tooMuch)).toContain("vram_claim_exceeds_model");
    const notShown = await play(
      issueSmall(),
      honest((c) => ({ ...h100Figures(c), vramAllocatedMib: 40_000 })),
    );
    expect(notShown.outcome).toBe("rejected");
    expect(codes(notShown)).toEqual(["vram_not_shown"]);
  });

  it("reports figures beyond the datasheet, or more GPU time than elapsed: rejected", async () => {
    const fast = await play(
      issueSmall(),
      honest((c) => h100Figures(c, 1500)),
    );
    expect(codes(fast)).toEqual(["compute_impossible"]);
    expect(fast.outcome).toBe("rejected");
    const bandwidth = await play(
      issueSmall(),
      honest((c) => ({ ...h100Figures(c), bandwidthGBps: 5000 })),
    );
    expect(codes(bandwidth)).toEqual(["bandwidth_impossible"]);
    const slowClock = await play(issueSmall(), {
      ...honest((c) => ({ ...h100Figures(c), matmulMs: scaledMs(c, 790) + 1_000 })),
      commitAfterMs: scaledMs(issueSmall().challenge, 790),
    });
    expect(codes(slowClock)).toContain("timing_inconsistent");
    expect(slowClock.outcome).toBe("rejected");
  });

  it("sends malformed messages: refused with a stable code", async () => {
    const issued = issueSmall();
    expect(
      await refusal(() => acceptReady(issued, { challengeId: "vch_x" }, { nodeId: NODE, now: T0 })),
    ).toBe("invalid_ready");
    const record = released(issued);
    const now = record.release.releasedAt + 1;
    expect(
      await refusal(() => acceptCommit(record, { challengeId: record.challenge.id }, { nodeId: NODE, now })),
    ).toBe("invalid_commit");
    const committed = acceptCommit(record, await honest().commit(record.challenge, record.release), {
      nodeId: NODE,
      now,
      random: seededRandom(1),
    });
    const bad = {
      challengeId: record.challenge.id,
      openings: [
        { leaf: 0, row: toBase64(new Uint8Array(3)), digests: toBase64(new Uint8Array(4)), proof: [] },
      ],
    };
    const judged = await acceptAnswer(committed.record, bad, { nodeId: NODE, now: now + 1 });
    expect(judged.judgement.outcome).toBe("rejected");
    expect(
      await refusal(() => acceptAnswer(committed.record, { openings: "x" }, { nodeId: NODE, now })),
    ).toBe("invalid_answer");
    expect(await refusal(() => issueSmall({ model: "GTX-1080" }))).toBe("unknown_gpu_model");
  });
});

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
