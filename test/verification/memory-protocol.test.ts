import { describe, expect, it } from "vitest";
import { gpuModelById } from "../../src/shared/gpu-catalog.js";
import {
  acceptAnswer,
  acceptCommit,
  acceptReady,
  type ChallengeRecord,
  expireChallenge,
} from "../../src/shared/verification/challenge-lifecycle.js";
import { issueChallenge } from "../../src/shared/verification/challenge-release.js";
import {
  computeProduct,
  fillOnCpu,
  openLeaves,
  openWalk,
  walkOnCpu,
} from "../../src/shared/verification/cpu-benchmark.js";
import {
  type ModelledDevice,
  memoryPhaseMs,
  modelledGpu,
  reportedVramMib,
  TOP_SERVER_CPU,
} from "../../src/shared/verification/device-model.js";
import {
  fillMsAt,
  type MemoryWalkSize,
  memoryWalkFor,
  walkMsAt,
} from "../../src/shared/verification/memory-size.js";
import { CHUNK_WORDS, walkKeys } from "../../src/shared/verification/memory-walk.js";
import { matrixKeys } from "../../src/shared/verification/seeded-matrix.js";
import { VerificationError } from "../../src/shared/verification/verification-error.js";
import { commitWalk, walkCheckpoints } from "../../src/shared/verification/walk-commitment.js";
import { h100Figures, issueSmall, NODE, seededRandom, T0, testModels } from "./support.js";

/**
 * The memory phase through the real lifecycle: ready → memory seed → "filled" → walk seed → the
 * walk's root as a third ready → compute seed → commit → spot checks with walk groups → answer
 * with walk openings. The
 * tiny walk's bandwidth on the real catalogue is far below any part, so these judge the walk's
 * integrity and the phase order; what each part measures as is impostors.test.ts's.
 */
const SIZE: MemoryWalkSize = {
  words: 2048 * CHUNK_WORDS,
  lanes: 64,
  segmentSteps: 8,
  segments: 3,
  groupLanes: 8,
  pageGroups: 2,
};

async function refusal(action: () => unknown): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (error instanceof VerificationError) return error.code;
    throw error;
  }
  return "accepted";
}

const ctx = (now: number, seed = 1) => ({
  nodeId: NODE,
  now,
  random: seededRandom(seed),
  models: testModels,
});

async function play(record: ChallengeRecord, walkSource: "honest" | "faked" | "early") {
  const memory = acceptReady(record, { challengeId: record.challenge.id }, ctx(T0 + 900, 2));
  if (memory.release.phase !== "memory") throw new Error("a memory phase first");
  const filled = fillOnCpu(record.challenge, memory.release.seed);
  const walk = acceptReady(
    memory.record,
    { challengeId: record.challenge.id, filled: true },
    ctx(T0 + 1_000, 7),
  );
  let root: string;
  let open: (groups: readonly number[]) => ReturnType<typeof openWalk>;
  if (walkSource !== "faked") {
    // "early": lanes started before the walk seed existed (from the memory seed instead).
    const walkSeed = walkSource === "honest" ? walk.release.seed : memory.release.seed;
    const prover = await walkOnCpu(record.challenge, filled, walkSeed);
    root = prover.root;
    open = (groups) => openWalk(prover, groups);
  } else {
    const keys = walkKeys(matrixKeys(memory.release.seed), matrixKeys(walk.release.seed));
    const zeros = new Uint32Array(CHUNK_WORDS);
    const prover = await commitWalk(
      keys,
      SIZE,
      walkCheckpoints(keys, SIZE, () => zeros),
    );
    root = prover.root;
    open = (groups) => openWalk(prover, groups);
  }
  const compute = acceptReady(
    walk.record,
    { challengeId: record.challenge.id, memory: { root } },
    ctx(T0 + 1_200, 3),
  );
  const product = await computeProduct(record.challenge, compute.release.seed);
  const measured = h100Figures(record.challenge);
  const commit = {
    challengeId: record.challenge.id,
    root: product.root,
    measured,
    runner: { mode: "typescript-cpu" as const, backend: "test", device: "cpu" },
  };
  const at = T0 + 1_200 + Math.ceil(measured.matmulMs * 1.02);
  const committed = acceptCommit(compute.record, commit, { nodeId: NODE, now: at, random: seededRandom(4) });
  const answer = {
    ...openLeaves(product, committed.request),
    walk: open(committed.request.walkGroups ?? []),
  };
  return { memory, walk, compute, committed, answer, at };
}

describe("the memory phase in the lifecycle", () => {
  it("releases the memory seed, then the walk seed once filled, then the compute seed for the walk's root, each with its own window", async () => {
    const record = issueSmall({ memory: SIZE });
    const { memory, walk, compute, committed } = await play(record, "honest");
    expect(memory.record.state).toBe("memory");
    expect(memory.release.expiresAt).toBeGreaterThan(memory.release.releasedAt);
    expect(walk.record.state).toBe("walk");
    expect(walk.release).toMatchObject({ phase: "walk", releasedAt: T0 + 1_000 });
    expect(walk.release.expiresAt).toBeGreaterThan(walk.release.releasedAt);
    expect(walk.release.seed).not.toBe(memory.release.seed);
    expect(compute.release.phase).toBe("compute");
    expect(compute.release.seed).not.toBe(memory.release.seed);
    expect(compute.release.seed).not.toBe(walk.release.seed);
    // A repeated "filled" gets the same walk seed back: it gains nothing.
    const id = record.challenge.id;
    expect(acceptReady(walk.record, { challengeId: id, filled: true }, ctx(T0 + 1_100, 9)).release).toEqual(
      walk.release,
    );
    expect(compute.release.releasedAt).toBe(T0 + 1_200);
    expect(committed.request.walkGroups?.length).toBeGreaterThan(0);
    // A repeated first ready gets the same memory seed; a commit before the compute seed is refused.
    const again = acceptReady(memory.record, { challengeId: record.challenge.id }, ctx(T0 + 1_100, 9));
    expect(again.release).toEqual(memory.release);
    expect(await refusal(() => acceptCommit(memory.record, {}, { nodeId: NODE, now: T0 + 1_100 }))).toBe(
      "invalid_commit",
    );
  });

  it("judges an honest walk's openings sound and records the VRAM it proved", async () => {
    const record = issueSmall({ memory: SIZE });
    const { committed, answer, at } = await play(record, "honest");
    const { judgement } = await acceptAnswer(committed.record, answer, {
      nodeId: NODE,
      now: at + 500,
      models: testModels,
    });
    expect(judgement.reasons.filter((r) => r.code.startsWith("walk") || r.code.includes("opening"))).toEqual(
      [],
    );
    expect(judgement.measured?.provenVramMib).toBe((SIZE.words * 4) / 2 ** 20);
    expect(judgement.measured?.memoryElapsedMs).toBe(200);
  });

  it("rejects a walk that faked its reads (a part short of memory)", async () => {
    const record = issueSmall({ memory: SIZE, seed: 5 });
    const { committed, answer, at } = await play(record, "faked");
    const { judgement } = await acceptAnswer(committed.record, answer, {
      nodeId: NODE,
      now: at + 500,
      models: testModels,
    });
    expect(judgement.outcome).toBe("rejected");
    expect(judgement.reasons.map((r) => r.code)).toContain("walk_replay_mismatch");
    expect(judgement.measured?.provenVramMib).toBe(0);
    expect(judgement.listedAs).toBeNull();
  });

  it("judges a record stored before the walk seed existed (an upgrade mid-challenge) suspect, not a 5xx", async () => {
    const record = issueSmall({ memory: SIZE, seed: 9 });
    const { committed, answer, at } = await play(record, "honest");
    const { fill: _fill, ...older } = committed.record.memory ?? { fill: undefined };
    const stored = JSON.parse(JSON.stringify({ ...committed.record, memory: older })) as ChallengeRecord;
    const { judgement } = await acceptAnswer(stored, answer, {
      nodeId: NODE,
      now: at + 500,
      models: testModels,
    });
    expect(judgement.outcome).toBe("suspect");
    expect(judgement.reasons.map((r) => r.code)).toEqual(["protocol_changed"]);
    expect(judgement.listedAs).toBeNull();
  });

  it("rejects a walk whose lanes started before the walk seed was released", async () => {
    const record = issueSmall({ memory: SIZE, seed: 8 });
    const { committed, answer, at } = await play(record, "early");
    const { judgement } = await acceptAnswer(committed.record, answer, {
      nodeId: NODE,
      now: at + 500,
      models: testModels,
    });
    expect(judgement.outcome).toBe("rejected");
    expect(judgement.reasons.map((r) => r.code).some((code) => code.startsWith("walk_"))).toBe(true);
  });

  it("refuses a memory commit after the walk's window, and the alarm rejects the challenge", async () => {
    const record = issueSmall({ memory: SIZE, seed: 6 });
    const id = record.challenge.id;
    const memory = acceptReady(record, { challengeId: id }, ctx(T0 + 1_000, 2));
    const walk = acceptReady(memory.record, { challengeId: id, filled: true }, ctx(T0 + 1_100, 3));
    const late = walk.release.expiresAt + 1;
    const body = { challengeId: id, memory: { root: "ab".repeat(32) } };
    expect(await refusal(() => acceptReady(walk.record, body, ctx(late)))).toBe("challenge_expired");
    const expired = expireChallenge(walk.record, late);
    expect(expired?.judgement.outcome).toBe("rejected");
    expect(expired?.judgement.reasons[0]?.message).toMatch(/no memory commit/);
    // The walk's window is its own: it opened at "filled", not at the memory seed's release.
    expect(walk.release.expiresAt - walk.release.releasedAt).toBeLessThan(
      walk.release.expiresAt - memory.release.releasedAt,
    );
  });

  it("refuses a fill after its window, and out-of-order or mixed readies, leaving the record as it was", async () => {
    const record = issueSmall({ memory: SIZE, seed: 7 });
    const id = record.challenge.id;
    const root = { root: "ab".repeat(32) };
    // A root or "filled" before any memory seed is out of order.
    expect(await refusal(() => acceptReady(record, { challengeId: id, memory: root }, ctx(T0)))).toBe(
      "challenge_not_released",
    );
    expect(await refusal(() => acceptReady(record, { challengeId: id, filled: true }, ctx(T0)))).toBe(
      "challenge_not_released",
    );
    const memory = acceptReady(record, { challengeId: id }, ctx(T0 + 1_000, 2));
    const before = structuredClone(memory.record);
    // The walk's root before "filled": no walk seed was drawn, so no walk can have been done.
    expect(
      await refusal(() => acceptReady(memory.record, { challengeId: id, memory: root }, ctx(T0 + 1_100))),
    ).toBe("challenge_not_released");
    expect(
      await refusal(() =>
        acceptReady(memory.record, { challengeId: id, filled: true, memory: root }, ctx(T0 + 1_100)),
      ),
    ).toBe("invalid_ready");
    expect(
      await refusal(() => acceptReady(memory.record, { challengeId: id, filled: false }, ctx(T0 + 1_100))),
    ).toBe("invalid_ready");
    const late = memory.release.expiresAt + 1;
    expect(
      await refusal(() => acceptReady(memory.record, { challengeId: id, filled: true }, ctx(late))),
    ).toBe("challenge_expired");
    expect(memory.record).toEqual(before);
    expect(expireChallenge(memory.record, late)?.judgement.reasons[0]?.message).toMatch(/no filled/);
    // Once walking, the plain first ready again is a replay.
    const walk = acceptReady(memory.record, { challengeId: id, filled: true }, ctx(T0 + 1_100, 3));
    expect(await refusal(() => acceptReady(walk.record, { challengeId: id }, ctx(T0 + 1_200)))).toBe(
      "challenge_replayed",
    );
  });
});

/**
 * The walk's own window on the region's clock, at production size for an A100-80GB: the modelled
 * top server CPU fills its working set 4× faster than the A100 and reads ~13% slower. With one
 * window for fill and walk the fast fill paid for the slow walk; with the walk timed from its own
 * release it does not (device-model.ts gives the phase times; the lifecycle here is the real one).
 */
describe("the walk's own window, at production size", () => {
  const model = gpuModelById("A100-80GB");
  if (!model) throw new Error("no A100-80GB in the catalogue");
  const vramMib = reportedVramMib(model);
  const spec = memoryWalkFor(model, vramMib);
  const issue = () =>
    issueChallenge({
      nodeId: NODE,
      gpu: { uuid: "GPU-a100", model: model.id, vramMib },
      now: T0,
      random: seededRandom(31),
    });
  const at = (device: ModelledDevice) => {
    const record = issue();
    const id = record.challenge.id;
    const times = memoryPhaseMs(device, spec);
    const context = (now: number) => ({ nodeId: NODE, now, random: seededRandom(now % 97) });
    const memory = acceptReady(record, { challengeId: id }, context(T0 + 60_000));
    const filledAt = memory.release.releasedAt + Math.ceil(times.fillMs);
    const walk = acceptReady(memory.record, { challengeId: id, filled: true }, context(filledAt));
    const rootAt = walk.release.releasedAt + Math.ceil(times.walkMs);
    const root = { challengeId: id, memory: { root: "cd".repeat(32) } };
    return { memory, walk, rootAt, send: () => acceptReady(walk.record, root, context(rootAt)) };
  };

  it("takes an honest A100-80GB's walk with slack", () => {
    const honest = at(modelledGpu("A100-80GB"));
    expect(honest.send().release.phase).toBe("compute");
    const window = honest.walk.release.expiresAt - honest.walk.release.releasedAt;
    expect(honest.rootAt - honest.walk.release.releasedAt).toBeLessThan(0.94 * window);
  });

  it("refuses the top server CPU's walk, which the old single window (fill + walk) would have taken", async () => {
    const cpu = at(TOP_SERVER_CPU);
    expect(await refusal(() => cpu.send())).toBe("challenge_expired");
    // The old window: the fill at half the A100's integer rate, the walk at 75% of its bandwidth,
    // plus 0.8 s, all from the memory seed's release. The CPU's root came inside it.
    const old = fillMsAt(model, spec, 0.5) + walkMsAt(model, spec, 0.75) + 800;
    expect(cpu.rootAt - cpu.memory.release.releasedAt).toBeLessThan(old);
    expect(cpu.rootAt - cpu.walk.release.expiresAt).toBeGreaterThan(300);
  });
});
