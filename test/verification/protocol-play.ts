import {
  acceptAnswer,
  acceptCommit,
  type ChallengeRecord,
} from "../../src/shared/verification/challenge-lifecycle.js";
import {
  type ComputedProduct,
  computeProduct,
  openLeaves,
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
import { h100Figures, NODE, released, seededRandom, T0, testModels } from "./support.js";

/** The agents and the one-challenge game the protocol tests play (split from protocol.test.ts). */
export const RUNNER: VerificationCommit["runner"] = {
  mode: "host-process",
  backend: "test",
  device: "NVIDIA H100 80GB HBM3",
};

export interface Play {
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
export function honest(
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

export async function play(record: ChallengeRecord, agent: Play, seed = 7): Promise<VerificationJudgement> {
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

export function codes(judgement: VerificationJudgement): string[] {
  return judgement.reasons.map((reason) => reason.code);
}

export async function refusal(action: () => unknown): Promise<string> {
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
export async function forged(
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
export function forger(wrongRow: (leaf: number) => boolean): Play {
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
