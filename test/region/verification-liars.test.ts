import { describe, expect, it } from "vitest";
import { type DeskNode, VerificationDesk } from "../../src/durable/verification-desk.js";
import type { BenchmarkSession } from "../../src/shared/verification/benchmark-session.js";
import { prepareCpuBenchmark } from "../../src/shared/verification/cpu-benchmark.js";
import type { VerificationChallenge, VerificationJudgement } from "../../src/shared/verification/messages.js";
import { VerificationError } from "../../src/shared/verification/verification-error.js";
import {
  h100Figures,
  NODE,
  OTHER_NODE,
  scaledMs,
  seededRandom,
  T0,
  testModels,
} from "../verification/support.js";

/**
 * Liars that report plausible figures. Challenges are 64×64, 2 blocks against the scaled
 * catalogue (support.ts): 21 s of an H100's datasheet compute, a 38 s window, an honest H100 done
 * in 26.5 s — the proportions of a production challenge.
 */
const SIZE = { n: 64, blocks: 2 };
const H100_MIB = 81_559;

function node(id: string, uuids: string[], model = "H100-SXM", vramMib = H100_MIB): DeskNode {
  return { id, hardware: { gpus: uuids.map((uuid) => ({ uuid, model, vramMib })) } };
}

function desk(seed = 1): VerificationDesk {
  return new VerificationDesk({ random: seededRandom(seed), size: SIZE, memory: null, models: testModels });
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

/** Says ready, computes (on this CPU: the product is real), and commits at `commitAt`. */
async function commitAt(
  d: VerificationDesk,
  nodeId: string,
  challenge: VerificationChallenge,
  readyAt: number,
  at: (releasedAt: number) => number,
  tflops = 790,
): Promise<{ session: BenchmarkSession; at: number; commit: () => Promise<VerificationJudgement> }> {
  const prepared = await prepareCpuBenchmark(challenge, { bandwidthBytes: 1024 * 1024 });
  const release = d.ready(nodeId, challenge.id, { challengeId: challenge.id }, readyAt);
  const session = await prepared.run(release);
  const when = Math.ceil(at(release.releasedAt));
  return {
    session,
    at: when,
    commit: async () => {
      const request = d.commit(
        nodeId,
        challenge.id,
        { ...session.commit, measured: h100Figures(challenge, tflops) },
        when,
      );
      const judgement = await d.answer(nodeId, challenge.id, await session.answer(request), when + 500);
      await session.close();
      return judgement;
    },
  };
}

const UUIDS = Array.from({ length: 8 }, (_, i) => `GPU-${i}`);

describe("one GPU answering for eight", () => {
  it("is caught: the eight windows open together, and one GPU finishes one in time", async () => {
    const d = desk();
    d.onRegistered(node(NODE, UUIDS), T0);
    const challenges = d.challengesFor(NODE, T0);
    expect(challenges).toHaveLength(8);
    // It says ready for the first; every window starts then, whatever it says for the others.
    const each = scaledMs(SIZE, 790) * 1.02;
    const [first, ...rest] = challenges;
    if (!first) throw new Error("challenges");
    const one = await commitAt(d, NODE, first, T0 + 2_000, (released) => released + each);
    expect((await one.commit()).outcome).toBe("verified");
    let late = 0;
    for (const [i, challenge] of rest.entries()) {
      // The same GPU, one product after another: the k-th commit arrives k products later.
      const next = await commitAt(
        d,
        NODE,
        challenge,
        T0 + 2_000 + each * (i + 1),
        () => T0 + 2_000 + each * (i + 2),
      );
      const code = await refusal(() => next.commit()).catch(() => "accepted");
      if (code === "challenge_expired") late++;
      await next.session.close();
    }
    expect(late).toBe(7);
    const judged = d.expire(T0 + 10 * 60_000);
    expect(judged.map((j) => j.reasons[0]?.code)).toEqual(Array(7).fill("deadline_missed"));
    expect(d.status(NODE)?.outcome).toBe("rejected");
    expect(d.eligibleForWork(NODE)).toBe(false);
  });

  it("an honest 8-GPU node, all eight computing at once, is verified", async () => {
    const d = desk(2);
    d.onRegistered(node(NODE, UUIDS), T0);
    const challenges = d.challengesFor(NODE, T0);
    const runs = await Promise.all(
      challenges.map((challenge) =>
        commitAt(d, NODE, challenge, T0 + 2_000, (released) => released + scaledMs(SIZE, 790) * 1.02),
      ),
    );
    const judgements = [];
    for (const run of runs) judgements.push(await run.commit());
    expect(judgements.every((j) => j.outcome === "verified")).toBe(true);
    expect(d.status(NODE)?.outcome).toBe("verified");
  });

  it("one GPU's uuid on two nodes: both suspect, challenged and released together; only the real one passes", async () => {
    const d = desk(3);
    d.onRegistered(node(NODE, ["GPU-shared"]), T0);
    const [own] = d.challengesFor(NODE, T0);
    if (!own) throw new Error("a challenge");
    const honest = await commitAt(
      d,
      NODE,
      own,
      T0 + 1_000,
      (released) => released + scaledMs(SIZE, 790) * 1.02,
    );
    expect((await honest.commit()).outcome).toBe("verified");
    expect(d.eligibleForWork(NODE)).toBe(true);
    // A second node reports the same uuid: both lose their standing until a joint round.
    d.onRegistered(node(OTHER_NODE, ["GPU-shared"]), T0 + 60_000);
    for (const id of [NODE, OTHER_NODE]) {
      expect(d.status(id)?.outcome).toBe("suspect");
      expect(d.status(id)?.gpus[0]?.reasons.map((r) => r.code)).toContain("duplicate_gpu_uuid");
      expect(d.eligibleForWork(id)).toBe(false);
    }
    const [a] = d.challengesFor(NODE, T0 + 61_000);
    const [b] = d.challengesFor(OTHER_NODE, T0 + 61_500);
    if (!a || !b) throw new Error("both are challenged");
    // The impostor's ready releases both windows: the one GPU behind both can finish only one.
    const each = scaledMs(SIZE, 790) * 1.02;
    const first = await commitAt(d, OTHER_NODE, b, T0 + 62_000, (released) => released + each);
    const second = await commitAt(d, NODE, a, T0 + 62_000 + each, () => T0 + 62_000 + 2 * each);
    expect(second.at - T0 - 62_000).toBeGreaterThan(2 * each - 1);
    expect((await first.commit()).outcome).toBe("verified");
    expect(await refusal(() => second.commit())).toBe("challenge_expired");
    await second.session.close();
    d.expire(T0 + 10 * 60_000);
    expect(d.status(NODE)?.outcome).toBe("rejected");
  });
});

describe("hardware swapped after passing", () => {
  it("VRAM or model changed at registration: verified again before it counts", async () => {
    const d = desk(4);
    d.onRegistered(node(NODE, ["GPU-a"], "H100-SXM", 40_000), T0);
    const [challenge] = d.challengesFor(NODE, T0);
    if (!challenge) throw new Error("a challenge");
    const run = await commitAt(d, NODE, challenge, T0 + 1_000, (r) => r + scaledMs(SIZE, 790) * 1.02);
    expect((await run.commit()).outcome).toBe("verified");
    // The same uuid and model, its VRAM raised after passing: a new fingerprint, a new verification.
    expect(d.onRegistered(node(NODE, ["GPU-a"], "H100-SXM", H100_MIB), T0 + 60_000)).toBe(true);
    expect(d.status(NODE)?.outcome).toBe("unverified");
    expect(d.eligibleForWork(NODE)).toBe(false);
    expect(d.challengesFor(NODE, T0 + 60_000)).toHaveLength(1);
  });

  it("a slower part swapped in under the same registration misses its next (unannounced) challenge", async () => {
    const d = desk(5);
    d.onRegistered(node(NODE, ["GPU-a"]), T0);
    const [challenge] = d.challengesFor(NODE, T0);
    if (!challenge) throw new Error("a challenge");
    const run = await commitAt(d, NODE, challenge, T0 + 1_000, (r) => r + scaledMs(SIZE, 790) * 1.02);
    expect((await run.commit()).outcome).toBe("verified");
    const next = d.status(NODE)?.nextChallengeAt;
    if (next == null) throw new Error("a next challenge");
    const [again] = d.challengesFor(NODE, next);
    if (!again) throw new Error("a re-challenge");
    // Now an RTX 4090 (165 TFLOP/s) behind the H100's uuid, reporting the H100's figures.
    const swapped = await commitAt(d, NODE, again, next + 1_000, (r) => r + scaledMs(SIZE, 165) * 1.02);
    expect(await refusal(() => swapped.commit())).toBe("challenge_expired");
    await swapped.session.close();
    d.expire(next + 10 * 60_000);
    expect(d.status(NODE)?.outcome).toBe("rejected");
  });
});

describe("a PCIe part claiming SXM", () => {
  it("an H100 PCIe (80% of its 756 TFLOP/s) claiming an H100 SXM: suspect, never listed, however it reports", async () => {
    const d = desk(6);
    d.onRegistered(node(NODE, ["GPU-a"]), T0);
    const [challenge] = d.challengesFor(NODE, T0);
    if (!challenge) throw new Error("a challenge");
    // It commits when its products are done (605 TFLOP/s) and reports an SXM's 790.
    const run = await commitAt(d, NODE, challenge, T0 + 1_000, (r) => r + scaledMs(SIZE, 605) * 1.02, 790);
    const judgement = await run.commit();
    expect(judgement.outcome).toBe("suspect");
    expect(judgement.reasons.map((r) => r.code)).toContain("compute_below_threshold");
    expect(judgement.measured?.computeRatio).toBeLessThan(0.63);
    expect(d.eligibleForWork(NODE)).toBe(false);
    expect(d.verifiedTflops(NODE)).toBeUndefined();
  });
});
