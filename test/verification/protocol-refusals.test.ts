import { describe, expect, it } from "vitest";
import { toBase64 } from "../../src/shared/verification/bytes.js";
import {
  acceptAnswer,
  acceptCommit,
  acceptReady,
  deadlineOf,
  expireChallenge,
} from "../../src/shared/verification/challenge-lifecycle.js";
import { computeProduct, openLeaves } from "../../src/shared/verification/cpu-benchmark.js";
import { codes, honest, play, refusal } from "./protocol-play.js";
import {
  asReleased,
  h100Figures,
  issueSmall,
  NODE,
  released,
  scaledMs,
  seededRandom,
  T0,
  testModels,
} from "./support.js";

describe("a lying agent is refused or rejected", () => {
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
