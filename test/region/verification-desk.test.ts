import { describe, expect, it } from "vitest";
import { type DeskNode, VerificationDesk } from "../../src/durable/verification-desk.js";
import type { BenchmarkSession } from "../../src/shared/verification/benchmark-session.js";
import { fromBase64, toBase64 } from "../../src/shared/verification/bytes.js";
import { prepareCpuBenchmark } from "../../src/shared/verification/cpu-benchmark.js";
import type {
  VerificationChallenge,
  VerificationCommit,
  VerificationJudgement,
} from "../../src/shared/verification/messages.js";
import { estimateChallengeGpuMs } from "../../src/shared/verification/rechallenge-schedule.js";
import { VerificationError } from "../../src/shared/verification/verification-error.js";
import {
  H100_VRAM_MIB,
  h100Figures,
  NODE,
  OTHER_NODE,
  SCALE,
  seededRandom,
  T0,
  testModels,
} from "../verification/support.js";

const SMALL = { n: 32, blocks: 1 };

function h100Node(id = NODE, uuids = ["GPU-a"]): DeskNode {
  return {
    id,
    hardware: { gpus: uuids.map((uuid) => ({ uuid, model: "H100-SXM", vramMib: H100_VRAM_MIB })) },
  };
}

function newDesk(seed = 1): VerificationDesk {
  return new VerificationDesk({ random: seededRandom(seed), size: SMALL, memory: null, models: testModels });
}

/** How a test agent answers: the real TypeScript benchmark, with figures and openings it may doctor. */
interface Agent {
  figures?: (challenge: VerificationChallenge, session: BenchmarkSession) => VerificationCommit["measured"];
  tamper?: boolean;
}

/** Prepares on this CPU, says ready at `readyAt` and computes with the seed released. */
async function readyAndRun(
  desk: VerificationDesk,
  nodeId: string,
  challenge: VerificationChallenge,
  readyAt: number,
): Promise<BenchmarkSession> {
  const prepared = await prepareCpuBenchmark(challenge, { bandwidthBytes: 1024 * 1024 });
  const release = desk.ready(nodeId, challenge.id, { challengeId: challenge.id }, readyAt);
  return prepared.run(release);
}

async function runChallenge(
  desk: VerificationDesk,
  nodeId: string,
  challenge: VerificationChallenge,
  at: number,
  agent: Agent = {},
): Promise<VerificationJudgement> {
  const session = await readyAndRun(desk, nodeId, challenge, at + 2_000);
  const measured = (agent.figures ?? ((c) => h100Figures(c)))(challenge, session);
  // The commit arrives when the reported products would be done (the verifier times it).
  const commitAt = at + 2_000 + Math.ceil(Math.max(1, measured.matmulMs * 1.02));
  const request = desk.commit(nodeId, challenge.id, { ...session.commit, measured }, commitAt);
  const answer = await session.answer(request);
  if (agent.tamper) {
    const first = answer.openings[0];
    const row = first && fromBase64(first.row);
    if (first && row) {
      row[0] = (row[0] ?? 0) ^ 0xff;
      first.row = toBase64(row);
    }
  }
  await session.close();
  return desk.answer(nodeId, challenge.id, answer, commitAt + 1_000);
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

describe("what the desk challenges", () => {
  it("challenges every GPU of a node on registration, at once", () => {
    const desk = newDesk();
    expect(desk.onRegistered(h100Node(NODE, ["GPU-a", "GPU-b"]), T0)).toBe(true);
    expect(desk.status(NODE)?.outcome).toBe("unverified");
    expect(desk.eligibleForWork(NODE)).toBe(false);
    expect(desk.dueNodes(T0)).toEqual([NODE]);
    const first = desk.challengesFor(NODE, T0);
    expect(first.map((c) => c.gpuUuid)).toEqual(["GPU-a", "GPU-b"]);
    expect(first.every((c) => c.nodeId === NODE)).toBe(true);
    expect(desk.status(NODE)?.outcome).toBe("pending");
    // A second poll gets the same challenges again (in case the first answer was lost), never new ones.
    expect(desk.challengesFor(NODE, T0 + 1_000).map((c) => c.id)).toEqual(first.map((c) => c.id));
    expect(desk.nextWakeAt()).toBe(first[0]?.readyBy);
  });

  it("hands out one at a time when told to (maxOpenPerNode)", () => {
    const desk = new VerificationDesk({
      random: seededRandom(2),
      size: SMALL,
      memory: null,
      maxOpenPerNode: 1,
    });
    desk.onRegistered(h100Node(NODE, ["GPU-a", "GPU-b", "GPU-c"]), T0);
    expect(desk.challengesFor(NODE, T0).map((c) => c.gpuUuid)).toEqual(["GPU-a"]);
  });

  it("changes nothing on an unchanged re-registration, and re-verifies when the GPUs change", async () => {
    const desk = newDesk();
    desk.onRegistered(h100Node(), T0);
    const [challenge] = desk.challengesFor(NODE, T0);
    if (!challenge) throw new Error("a challenge");
    expect((await runChallenge(desk, NODE, challenge, T0)).outcome).toBe("verified");
    desk.takeChanges();
    expect(desk.onRegistered(h100Node(), T0 + 60_000)).toBe(false);
    expect(desk.dirty).toBe(false);
    expect(desk.status(NODE)?.outcome).toBe("verified");

    // The same uuid reported as another model, or another card: verify again from scratch.
    expect(desk.onRegistered(h100Node(NODE, ["GPU-swapped"]), T0 + 120_000)).toBe(true);
    expect(desk.status(NODE)?.outcome).toBe("unverified");
    expect(desk.verifiedTflops(NODE)).toBeUndefined();
    expect(desk.eligibleForWork(NODE)).toBe(false);
    expect(desk.challengesFor(NODE, T0 + 120_000)[0]?.gpuUuid).toBe("GPU-swapped");
  });

  it("cannot verify a part the catalogue does not know, and says so", () => {
    const desk = newDesk();
    desk.onRegistered({ id: NODE, hardware: { gpus: [{ uuid: "GPU-x", vramMib: 1024 }] } }, T0);
    expect(desk.challengesFor(NODE, T0)).toEqual([]);
    expect(desk.status(NODE)?.gpus[0]?.reasons[0]?.code).toBe("unknown_gpu_model");
    expect(desk.eligibleForWork(NODE)).toBe(false);
  });

  it("lets a node without GPUs work, and an unverified one only when verification is not required", () => {
    const lax = new VerificationDesk({ size: SMALL, memory: null, requireVerified: false });
    lax.onRegistered(h100Node(), T0);
    expect(lax.eligibleForWork(NODE)).toBe(true);
    const strict = newDesk();
    strict.onRegistered({ id: OTHER_NODE, hardware: { gpus: [] } }, T0);
    expect(strict.eligibleForWork(OTHER_NODE)).toBe(true);
  });
});

describe("judging nodes", () => {
  it("verifies an honest node, with its measured figures for the scheduler", async () => {
    const desk = newDesk();
    desk.onRegistered(h100Node(), T0);
    const [challenge] = desk.challengesFor(NODE, T0);
    if (!challenge) throw new Error("a challenge");
    const judgement = await runChallenge(desk, NODE, challenge, T0);
    expect(judgement.outcome).toBe("verified");
    const status = desk.status(NODE);
    expect(status?.outcome).toBe("verified");
    // The verifier's figure (release → commit on its clock), a little under the 790 it was told.
    const timed = (status?.gpus[0]?.tflops ?? 0) / SCALE;
    expect(timed).toBeGreaterThan(770);
    expect(timed).toBeLessThan(790);
    expect(status?.gpus[0]?.bandwidthGBps).toBe(3000);
    expect(status?.lastVerifiedAt).toBe(judgement.judgedAt);
    expect(status?.nextChallengeAt).toBeGreaterThan(judgement.judgedAt);
    expect((desk.verifiedTflops(NODE) ?? 0) / SCALE).toBeCloseTo(timed, 6);
    expect(desk.eligibleForWork(NODE)).toBe(true);
  });

  const liars: [string, Agent, string][] = [
    [
      "computes on the CPU and reports the CPU's figures",
      { figures: (_c, s) => s.commit.measured },
      "bandwidth_buffer_too_small",
    ],
    ["tampers with an opened row", { tamper: true }, "digest_mismatch"],
    [
      "commits at an H100's pace but shows an RTX 4090's memory and bandwidth",
      { figures: (c) => ({ ...h100Figures(c), bandwidthGBps: 950, vramAllocatedMib: 23_000 }) },
      "bandwidth_below_threshold",
    ],
  ];
  for (const [what, agent, code] of liars) {
    it(`rejects and delists a node that ${what}`, async () => {
      for (let seed = 1; seed <= 3; seed++) {
        const desk = newDesk(seed);
        desk.onRegistered(h100Node(), T0);
        const [challenge] = desk.challengesFor(NODE, T0);
        if (!challenge) throw new Error("a challenge");
        const judgement = await runChallenge(desk, NODE, challenge, T0, agent);
        expect(judgement.outcome).toBe("rejected");
        expect(judgement.reasons.map((r) => r.code)).toContain(code);
        expect(desk.status(NODE)?.outcome).toBe("rejected");
        expect(desk.eligibleForWork(NODE)).toBe(false);
        expect(desk.verifiedTflops(NODE)).toBeUndefined();
        // Rejected: nothing more is planned for it, and it is handed no further challenge.
        expect(desk.status(NODE)?.nextChallengeAt).toBeNull();
        expect(desk.challengesFor(NODE, T0 + 365 * 86_400_000)).toEqual([]);
      }
    });
  }

  it("holds a suspect node back from work and re-challenges it within minutes", async () => {
    const desk = newDesk();
    desk.onRegistered(h100Node(), T0);
    const [first] = desk.challengesFor(NODE, T0);
    if (!first) throw new Error("a challenge");
    const throttled = await runChallenge(desk, NODE, first, T0, { figures: (c) => h100Figures(c, 600) });
    expect(throttled.outcome).toBe("suspect");
    expect(desk.eligibleForWork(NODE)).toBe(false);
    const next = desk.status(NODE)?.nextChallengeAt ?? 0;
    expect(next - throttled.judgedAt).toBeGreaterThanOrEqual(120_000);
    expect(next - throttled.judgedAt).toBeLessThanOrEqual(300_000);
    expect(desk.challengesFor(NODE, next - 1)).toEqual([]);
    const [again] = desk.challengesFor(NODE, next);
    if (!again) throw new Error("a re-challenge");
    expect((await runChallenge(desk, NODE, again, next)).outcome).toBe("verified");
    expect(desk.eligibleForWork(NODE)).toBe(true);
  });

  it("rejects a node that misses a deadline, at the alarm", async () => {
    const desk = newDesk();
    desk.onRegistered(h100Node(NODE, ["GPU-a"]), T0);
    desk.onRegistered(h100Node(OTHER_NODE, ["GPU-b"]), T0);
    const [silent] = desk.challengesFor(NODE, T0);
    const [halfway] = desk.challengesFor(OTHER_NODE, T0);
    if (!silent || !halfway) throw new Error("challenges");
    const session = await readyAndRun(desk, OTHER_NODE, halfway, T0 + 500);
    const request = desk.commit(
      OTHER_NODE,
      halfway.id,
      { ...session.commit, measured: h100Figures(halfway) },
      T0 + 1_000,
    );
    expect(desk.expire(T0 + 1_000)).toEqual([]);
    const wake = desk.nextWakeAt() ?? 0;
    expect(wake).toBe(Math.min(silent.readyBy, request.answerBy));
    const judgements = desk.expire(Math.max(silent.readyBy, request.answerBy) + 1);
    expect(judgements.map((j) => [j.nodeId, j.outcome, j.reasons[0]?.code])).toEqual([
      [NODE, "rejected", "deadline_missed"],
      [OTHER_NODE, "rejected", "deadline_missed"],
    ]);
    expect(desk.eligibleForWork(NODE)).toBe(false);
    // A late answer is refused, and changes nothing.
    expect(
      await refusal(async () =>
        desk.answer(OTHER_NODE, halfway.id, await session.answer(request), request.answerBy + 2),
      ),
    ).toBe("challenge_replayed");
    expect(desk.nextWakeAt()).toBeUndefined();
  });

  it("refuses someone else's, unknown and replayed challenge messages", async () => {
    const desk = newDesk();
    desk.onRegistered(h100Node(), T0);
    desk.onRegistered(h100Node(OTHER_NODE, ["GPU-b"]), T0);
    const [challenge] = desk.challengesFor(NODE, T0);
    if (!challenge) throw new Error("a challenge");
    const ready = { challengeId: challenge.id };
    expect(await refusal(() => desk.ready(OTHER_NODE, challenge.id, ready, T0 + 500))).toBe(
      "challenge_not_yours",
    );
    const prepared = await prepareCpuBenchmark(challenge, { bandwidthBytes: 1024 * 1024 });
    const release = desk.ready(NODE, challenge.id, ready, T0 + 500);
    // No longer handed out by polls once released; a repeated ready gets the same seed.
    expect(desk.challengesFor(NODE, T0 + 600)).toEqual([]);
    expect(desk.ready(NODE, challenge.id, ready, T0 + 700)).toEqual(release);
    const session = await prepared.run(release);
    const body = { ...session.commit, measured: h100Figures(challenge) };
    const at = T0 + 500 + Math.ceil(body.measured.matmulMs * 1.02);
    expect(await refusal(() => desk.commit(OTHER_NODE, challenge.id, body, at))).toBe("challenge_not_yours");
    expect(await refusal(() => desk.commit(NODE, `vch_${"0".repeat(32)}`, body, at))).toBe(
      "challenge_mismatch",
    );
    const request = desk.commit(NODE, challenge.id, body, at);
    expect(await refusal(() => desk.commit(NODE, challenge.id, body, at + 500))).toBe("challenge_replayed");
    expect(await refusal(() => desk.ready(NODE, challenge.id, ready, at + 500))).toBe("challenge_replayed");
    const answer = await session.answer(request);
    expect((await desk.answer(NODE, challenge.id, answer, at + 1_000)).outcome).toBe("verified");
    expect(await refusal(() => desk.answer(NODE, challenge.id, answer, at + 1_500))).toBe(
      "challenge_replayed",
    );
  });
});

describe("the re-challenge schedule", () => {
  it("spends at most 1% of an honest GPU's time on challenges, at random intervals", async () => {
    const desk = newDesk(9);
    desk.onRegistered(h100Node(), T0);
    const model = testModels("H100-SXM");
    if (!model) throw new Error("catalogue");
    let now = T0;
    let busyMs = 0;
    const gaps: number[] = [];
    for (let round = 0; round < 60; round++) {
      const [challenge] = desk.challengesFor(NODE, now);
      if (!challenge) throw new Error(`round ${round}: nothing due at ${now}`);
      const judgement = await runChallenge(desk, NODE, challenge, now);
      expect(judgement.outcome).toBe("verified");
      busyMs += estimateChallengeGpuMs(model, challenge);
      const next = desk.status(NODE)?.nextChallengeAt;
      if (next == null) throw new Error("a next challenge");
      gaps.push(next - now);
      now = next;
    }
    const fraction = busyMs / (now - T0);
    expect(fraction).toBeLessThanOrEqual(0.01);
    expect(fraction).toBeGreaterThan(0.004);
    // Random, not periodic: a provider cannot time a hardware swap between challenges.
    expect(new Set(gaps).size).toBe(gaps.length);
    expect(Math.max(...gaps) / Math.min(...gaps)).toBeGreaterThan(2);
  });
});

describe("an agent inflating its reported totalMs", () => {
  it("cannot push its next challenge away: the interval comes from the claimed part alone", async () => {
    const nextAfter = async (totalMs: number): Promise<number> => {
      const desk = newDesk(4);
      desk.onRegistered(h100Node(), T0);
      const [challenge] = desk.challengesFor(NODE, T0);
      if (!challenge) throw new Error("a challenge");
      const judgement = await runChallenge(desk, NODE, challenge, T0, {
        figures: (c) => ({ ...h100Figures(c), totalMs }),
      });
      expect(judgement.outcome).toBe("verified");
      return (desk.status(NODE)?.nextChallengeAt ?? 0) - judgement.judgedAt;
    };
    // Once, a report of 10^12 ms made the mean delay thousands of years; now the largest figure
    // the schema takes (an hour) plans the very same next challenge as an honest 9 s.
    expect(await nextAfter(3_600_000)).toBe(await nextAfter(9_000));
    const desk = newDesk(4);
    desk.onRegistered(h100Node(), T0);
    const [challenge] = desk.challengesFor(NODE, T0);
    if (!challenge) throw new Error("a challenge");
    const session = await readyAndRun(desk, NODE, challenge, T0 + 1_000);
    const lie = { ...session.commit, measured: { ...h100Figures(challenge), totalMs: 1e12 } };
    const at = T0 + 1_000 + Math.ceil(lie.measured.matmulMs);
    expect(await refusal(() => desk.commit(NODE, challenge.id, lie, at))).toBe("invalid_commit");
    // Refused, and nothing changed: the honest commit is still taken.
    const request = desk.commit(
      NODE,
      challenge.id,
      { ...session.commit, measured: h100Figures(challenge) },
      at,
    );
    expect(request.leaves.length).toBeGreaterThan(0);
    await session.close();
  });
});

describe("persistence", () => {
  it("round-trips through JSON mid-challenge and carries on", async () => {
    const desk = newDesk();
    desk.onRegistered(h100Node(), T0);
    const [challenge] = desk.challengesFor(NODE, T0);
    if (!challenge) throw new Error("a challenge");
    const changes = desk.takeChanges();
    expect(Object.keys(changes.puts)).toEqual([NODE]);
    expect(desk.dirty).toBe(false);
    // Polling with nothing new due writes nothing.
    desk.challengesFor(NODE, T0 + 1_000);
    expect(desk.dirty).toBe(false);

    const revived = VerificationDesk.from(JSON.parse(JSON.stringify(changes.puts)), {
      random: seededRandom(5),
      size: SMALL,
      models: testModels,
    });
    expect(revived.status(NODE)).toEqual(desk.status(NODE));
    expect((await runChallenge(revived, NODE, challenge, T0)).outcome).toBe("verified");
    revived.forget(NODE);
    expect(revived.takeChanges().deletes).toEqual([NODE]);
  });
});
