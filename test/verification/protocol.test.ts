import { describe, expect, it } from "vitest";
import { gpuModelById } from "../../src/shared/gpu-catalog.js";
import { toBase64 } from "../../src/shared/verification/bytes.js";
import {
  acceptAnswer,
  acceptCommit,
  type ChallengeRecord,
  deadlineOf,
  expireChallenge,
  issueChallenge,
} from "../../src/shared/verification/challenge-lifecycle.js";
import { challengeSizeFor, commitWindowMs, flopsOf } from "../../src/shared/verification/challenge-size.js";
import { computeProduct, openLeaves, runCpuBenchmark } from "../../src/shared/verification/cpu-benchmark.js";
import { leafDigest, merkleLevels, rootOf } from "../../src/shared/verification/merkle.js";
import type {
  VerificationAnswer,
  VerificationChallenge,
  VerificationCommit,
  VerificationJudgement,
} from "../../src/shared/verification/messages.js";
import { VerificationError } from "../../src/shared/verification/verification-error.js";
import { H100_VRAM_MIB, h100Figures, issueSmall, NODE, OTHER_NODE, seededRandom, T0 } from "./support.js";

const RUNNER: VerificationCommit["runner"] = {
  mode: "host-process",
  backend: "test",
  device: "NVIDIA H100 80GB HBM3",
};

interface Play {
  commit: (challenge: VerificationChallenge) => Promise<VerificationCommit>;
  answer: (challenge: VerificationChallenge, leaves: number[]) => Promise<VerificationAnswer>;
  commitAfterMs?: number;
}

/** An agent that computes the product honestly (on this CPU) and reports given GPU figures. */
function honest(
  figures: (challenge: VerificationChallenge) => VerificationCommit["measured"] = h100Figures,
): Play {
  const products = new Map<string, Awaited<ReturnType<typeof computeProduct>>>();
  const productOf = async (challenge: VerificationChallenge) => {
    const known = products.get(challenge.id);
    if (known) return known;
    const computed = await computeProduct(challenge);
    products.set(challenge.id, computed);
    return computed;
  };
  return {
    commit: async (challenge) => ({
      challengeId: challenge.id,
      root: (await productOf(challenge)).root,
      measured: figures(challenge),
      runner: RUNNER,
    }),
    answer: async (challenge, leaves) =>
      openLeaves(await productOf(challenge), { challengeId: challenge.id, leaves, answerBy: 0 }),
  };
}

async function play(record: ChallengeRecord, agent: Play, seed = 7): Promise<VerificationJudgement> {
  if (record.state !== "issued") throw new Error("start from an issued challenge");
  const { challenge } = record;
  const commitAt = T0 + (agent.commitAfterMs ?? 5_000);
  const committed = acceptCommit(record, await agent.commit(challenge), {
    nodeId: NODE,
    now: commitAt,
    random: seededRandom(seed),
  });
  const answer = await agent.answer(challenge, committed.request.leaves);
  const { judgement } = await acceptAnswer(committed.record, answer, { nodeId: NODE, now: commitAt + 1_000 });
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

/** A product that is wrong in the given rows (their values replaced), with a consistent tree. */
async function forged(challenge: VerificationChallenge, wrongRow: (leaf: number) => boolean) {
  const product = await computeProduct(challenge);
  const rows = product.rows.map((row, leaf) => {
    if (!wrongRow(leaf)) return row;
    const copy = new Uint8Array(row);
    // What a cheat that skips the work might send: a plausible-looking but made-up row.
    for (let k = 0; k < copy.length; k += 2) copy[k] = (copy[k] ?? 0) ^ 0x5a;
    return copy;
  });
  const levels = await merkleLevels(await Promise.all(rows.map((row) => leafDigest(row))));
  return { root: rootOf(levels), rows, levels, matmulMs: product.matmulMs };
}

describe("an honest agent", () => {
  it("is verified as the H100 it is, with its figures", async () => {
    const judgement = await play(issueSmall(), honest());
    expect(judgement.outcome).toBe("verified");
    expect(judgement.reasons).toEqual([]);
    expect(judgement.checkedEntries).toBe(16 * 4);
    expect(judgement.measured?.tflops).toBeCloseTo(790, 6);
    expect(judgement.measured?.computeRatio).toBeCloseTo(790 / 989, 6);
  });

  it("is verified through the TypeScript CPU benchmark session too (fp16, other sizes)", async () => {
    for (const [n, blocks] of [
      [16, 1],
      [128, 4],
    ] as const) {
      const record = issueChallenge({
        nodeId: NODE,
        gpu: { uuid: "GPU-x", model: "H100-SXM", vramMib: H100_VRAM_MIB },
        now: T0,
        dtype: "fp16",
        size: { n, blocks },
        random: seededRandom(n),
      });
      const session = await runCpuBenchmark(record.challenge, { bandwidthBytes: 1024 * 1024 });
      const judgement = await play(record, {
        commit: async (challenge) => ({ ...session.commit, measured: h100Figures(challenge) }),
        answer: async (challenge, leaves) =>
          session.answer({ challengeId: challenge.id, leaves, answerBy: 0 }),
      });
      expect(judgement.outcome).toBe("verified");
      expect(session.commit.runner.mode).toBe("typescript-cpu");
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
  it("claims an H100 but computes on the CPU and reports the CPU's timings: rejected", async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const record = issueSmall({ seed });
      const session = await runCpuBenchmark(record.challenge, { bandwidthBytes: 1024 * 1024 });
      const judgement = await play(record, {
        commit: async () => session.commit,
        answer: async (challenge, leaves) =>
          session.answer({ challengeId: challenge.id, leaves, answerBy: 0 }),
      });
      expect(judgement.outcome).toBe("rejected");
      expect(codes(judgement)).toContain("compute_below_threshold");
      expect(codes(judgement)).toContain("bandwidth_buffer_too_small");
      expect(codes(judgement)).toContain("vram_not_shown");
    }
  });

  it("claims an H100, computes on a CPU and lies about the time: the commit misses the window", async () => {
    const model = gpuModelById("H100-SXM");
    if (!model) throw new Error("catalogue");
    const size = challengeSizeFor(model);
    // A fast server CPU: 64 cores of AVX-512 at about 2 TFLOP/s sustained on this product.
    const cpuMs = (flopsOf(size) / 2e12) * 1000;
    expect(cpuMs).toBeGreaterThan(commitWindowMs(model, size));
    const record = issueChallenge({
      nodeId: NODE,
      gpu: { uuid: "GPU-x", model: "H100-SXM", vramMib: H100_VRAM_MIB },
      now: T0,
      random: seededRandom(3),
    });
    const lie: VerificationCommit = {
      challengeId: record.challenge.id,
      root: "ab".repeat(32),
      measured: h100Figures(record.challenge),
      runner: RUNNER,
    };
    expect(await refusal(() => acceptCommit(record, lie, { nodeId: NODE, now: T0 + cpuMs }))).toBe(
      "challenge_expired",
    );
    const expired = expireChallenge(record, T0 + cpuMs);
    expect(expired?.judgement.outcome).toBe("rejected");
    expect(expired && codes(expired.judgement)).toEqual(["deadline_missed"]);
  });

  it("is a smaller GPU claiming an H100 (an RTX 4090's 160 TFLOP/s, 950 GB/s): rejected", async () => {
    const judgement = await play(
      issueSmall(),
      honest((c) => ({ ...h100Figures(c, 160), bandwidthGBps: 950, vramAllocatedMib: 23_000 })),
    );
    expect(judgement.outcome).toBe("rejected");
    expect(codes(judgement)).toEqual([
      "compute_below_threshold",
      "bandwidth_below_threshold",
      "vram_not_shown",
    ]);
  });

  it("returns wrong entries (made-up rows under a consistent tree): rejected, every seed", async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const record = issueSmall({ seed });
      const fake = await forged(record.challenge, () => true);
      const judgement = await play(
        record,
        {
          commit: async (challenge) => ({
            challengeId: challenge.id,
            root: fake.root,
            measured: h100Figures(challenge),
            runner: RUNNER,
          }),
          answer: async (challenge, leaves) =>
            openLeaves(fake, { challengeId: challenge.id, leaves, answerBy: 0 }),
        },
        seed,
      );
      expect(judgement.outcome).toBe("rejected");
      expect(codes(judgement)).toContain("wrong_entry");
    }
  });

  it("does half the work (half the rows right): rejected, every seed (pass chance 2^-16 each)", async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const record = issueSmall({ seed, n: 64, blocks: 4 });
      const fake = await forged(record.challenge, (leaf) => leaf % 2 === 1);
      const judgement = await play(
        record,
        {
          commit: async (challenge) => ({
            challengeId: challenge.id,
            root: fake.root,
            measured: h100Figures(challenge),
            runner: RUNNER,
          }),
          answer: async (challenge, leaves) =>
            openLeaves(fake, { challengeId: challenge.id, leaves, answerBy: 0 }),
        },
        seed,
      );
      expect(judgement.outcome).toBe("rejected");
    }
  });

  it("commits a root that its answers do not match: rejected", async () => {
    const agent = honest();
    const judgement = await play(issueSmall(), {
      commit: async (challenge) => ({ ...(await agent.commit(challenge)), root: "cd".repeat(32) }),
      answer: agent.answer,
    });
    expect(judgement.outcome).toBe("rejected");
    expect(codes(judgement)).toContain("proof_mismatch");
  });

  it("opens rows other than those asked, or fewer: rejected", async () => {
    const agent = honest();
    const judgement = await play(issueSmall(), {
      commit: agent.commit,
      answer: async (challenge, leaves) => {
        const all = await agent.answer(challenge, leaves);
        return { ...all, openings: all.openings.slice(1) };
      },
    });
    expect(judgement.outcome).toBe("rejected");
    expect(codes(judgement)).toContain("missing_opening");
    const shifted = await play(issueSmall(), {
      commit: agent.commit,
      answer: async (challenge, leaves) => {
        const other = await agent.answer(
          challenge,
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
    const record = issueSmall();
    const commit = await honest().commit(record.challenge);
    expect(await refusal(() => acceptCommit(record, commit, { nodeId: OTHER_NODE, now: T0 + 1 }))).toBe(
      "challenge_not_yours",
    );
    const other = issueSmall({ seed: 99 });
    expect(
      await refusal(() =>
        acceptCommit(record, { ...commit, challengeId: other.challenge.id }, { nodeId: NODE, now: T0 + 1 }),
      ),
    ).toBe("challenge_mismatch");
    const committed = acceptCommit(record, commit, { nodeId: NODE, now: T0 + 1, random: seededRandom(1) });
    const answer = await honest().answer(record.challenge, committed.request.leaves);
    expect(
      await refusal(() => acceptAnswer(committed.record, answer, { nodeId: OTHER_NODE, now: T0 + 2 })),
    ).toBe("challenge_not_yours");
    expect(committed.record.state).toBe("committed");
  });

  it("answers an expired challenge: refused, then rejected when the deadline passes", async () => {
    const record = issueSmall();
    const agent = honest();
    const commit = await agent.commit(record.challenge);
    const late = record.challenge.expiresAt + 1;
    expect(await refusal(() => acceptCommit(record, commit, { nodeId: NODE, now: late }))).toBe(
      "challenge_expired",
    );
    expect(expireChallenge(record, record.challenge.expiresAt)).toBeUndefined();
    expect(expireChallenge(record, late)?.judgement.outcome).toBe("rejected");

    const committed = acceptCommit(record, commit, { nodeId: NODE, now: T0 + 10, random: seededRandom(2) });
    expect(deadlineOf(committed.record)).toBe(committed.request.answerBy);
    const answer = await agent.answer(record.challenge, committed.request.leaves);
    const tooLate = committed.request.answerBy + 1;
    expect(await refusal(() => acceptAnswer(committed.record, answer, { nodeId: NODE, now: tooLate }))).toBe(
      "challenge_expired",
    );
    expect(expireChallenge(committed.record, tooLate)?.judgement.reasons[0]?.code).toBe("deadline_missed");
  });

  it("replays a commit or an answer: refused; replays an old challenge's work: rejected", async () => {
    const record = issueSmall();
    const agent = honest();
    const commit = await agent.commit(record.challenge);
    const committed = acceptCommit(record, commit, { nodeId: NODE, now: T0 + 1, random: seededRandom(3) });
    expect(await refusal(() => acceptCommit(committed.record, commit, { nodeId: NODE, now: T0 + 2 }))).toBe(
      "challenge_replayed",
    );
    const answer = await agent.answer(record.challenge, committed.request.leaves);
    const done = await acceptAnswer(committed.record, answer, { nodeId: NODE, now: T0 + 3 });
    expect(done.judgement.outcome).toBe("verified");
    expect(await refusal(() => acceptAnswer(done.record, answer, { nodeId: NODE, now: T0 + 4 }))).toBe(
      "challenge_replayed",
    );
    expect(await refusal(() => acceptAnswer(record, answer, { nodeId: NODE, now: T0 + 4 }))).toBe(
      "challenge_not_committed",
    );

    // The same node, a new challenge, last time's product relabelled: the seed changed, so it fails.
    const next = issueSmall({ seed: 2 });
    const old = await computeProduct(record.challenge);
    const judgement = await play(next, {
      commit: async (challenge) => ({ ...commit, challengeId: challenge.id }),
      answer: async (challenge, leaves) =>
        openLeaves(old, { challengeId: challenge.id, leaves, answerBy: 0 }),
    });
    expect(judgement.outcome).toBe("rejected");
    expect(codes(judgement)).toContain("wrong_entry");
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
      ...honest((c) => ({ ...h100Figures(c), matmulMs: 10_000 })),
      commitAfterMs: 5_000,
    });
    expect(codes(slowClock)).toContain("timing_inconsistent");
    expect(slowClock.outcome).toBe("rejected");
  });

  it("sends malformed messages: refused with a stable code", async () => {
    const record = issueSmall();
    expect(
      await refusal(() =>
        acceptCommit(record, { challengeId: record.challenge.id }, { nodeId: NODE, now: T0 }),
      ),
    ).toBe("invalid_commit");
    const committed = acceptCommit(record, await honest().commit(record.challenge), {
      nodeId: NODE,
      now: T0,
      random: seededRandom(1),
    });
    const bad = {
      challengeId: record.challenge.id,
      openings: [{ leaf: 0, row: toBase64(new Uint8Array(3)), proof: [] }],
    };
    const judged = await acceptAnswer(committed.record, bad, { nodeId: NODE, now: T0 + 1 });
    expect(judged.judgement.outcome).toBe("rejected");
    expect(
      await refusal(() => acceptAnswer(committed.record, { openings: "x" }, { nodeId: NODE, now: T0 })),
    ).toBe("invalid_answer");
    expect(await refusal(() => issueSmall({ model: "GTX-1080" }))).toBe("unknown_gpu_model");
  });
});

describe("challenge sizing", () => {
  it("sizes production challenges from the catalogue, within the protocol's limits", () => {
    for (const id of ["H100-SXM", "RTX-3060", "B200", "MI300X"]) {
      const model = gpuModelById(id);
      if (!model) throw new Error(id);
      const size = challengeSizeFor(model);
      expect(size.n * size.n * size.blocks * 2).toBeLessThanOrEqual(16 * 512 * 1024 * 1024);
      const record = issueChallenge({
        nodeId: NODE,
        gpu: { uuid: "GPU-x", model: id, vramMib: model.vramGb * 1000 },
        now: T0,
      });
      expect(record.challenge.expiresAt - T0).toBe(commitWindowMs(model, size));
      expect(record.challenge.seed).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});
