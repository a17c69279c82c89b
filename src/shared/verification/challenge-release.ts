import { attestedChipOf } from "./attestation/attestable-parts.js";
import { toHex } from "./bytes.js";
import type { ChallengeDtype } from "./canonical-value.js";
import {
  type ChallengeRecord,
  checkSender,
  type ModelLookup,
  modelOf,
  parseOrRefuse,
} from "./challenge-record.js";
import {
  type ChallengeSize,
  challengeSizeFor,
  commitWindowMs,
  DEFAULT_WINDOW,
  type WindowOptions,
} from "./challenge-size.js";
import { fillWindowMs, type MemoryWalkSize, memoryWalkFor, walkWindowMs } from "./memory-size.js";
import { ChallengeReady, type ChallengeRelease, VerificationChallenge } from "./messages.js";
import { cryptoRandomBytes, type RandomBytes } from "./random-source.js";
import { VerificationError } from "./verification-error.js";

export interface IssueInput {
  nodeId: string;
  gpu: { uuid: string; model: string; vramMib: number };
  now: number;
  dtype?: ChallengeDtype;
  /** Overrides the catalogue-derived size (tests use small matrices). */
  size?: Partial<ChallengeSize>;
  /** Overrides the memory phase sized from the claimed VRAM; null leaves it out (tests only). */
  memory?: MemoryWalkSize | null;
  window?: WindowOptions;
  random?: RandomBytes;
  models?: ModelLookup;
}

/** A fresh challenge for one GPU of a node. Store the record, then send `record.challenge`. */
export function issueChallenge(input: IssueInput): ChallengeRecord & { state: "issued" } {
  const model = modelOf(input.gpu.model, input.models);
  const random = input.random ?? cryptoRandomBytes;
  const size: ChallengeSize = { ...challengeSizeFor(model, input.dtype), ...input.size };
  const window = input.window ?? DEFAULT_WINDOW;
  const challenge = VerificationChallenge.parse({
    id: `vch_${toHex(random(16))}`,
    nodeId: input.nodeId,
    gpuUuid: input.gpu.uuid,
    model: model.id,
    vramMib: input.gpu.vramMib,
    n: size.n,
    blocks: size.blocks,
    dtype: size.dtype,
    bandwidthBytes: size.bandwidthBytes,
    memory: input.memory === undefined ? memoryWalkFor(model, input.gpu.vramMib) : input.memory,
    ...(attestedChipOf(model.id) !== undefined ? { attestationNonce: toHex(random(32)) } : {}),
    issuedAt: input.now,
    readyBy: input.now + window.readyAllowanceMs,
  });
  return { state: "issued", challenge };
}

export interface ReadyContext {
  /** The node that signed the request. */
  nodeId: string;
  now: number;
  random?: RandomBytes;
  window?: WindowOptions;
  models?: ModelLookup;
}

type Released = {
  record: ChallengeRecord & { state: "memory" | "walk" | "released" };
  release: ChallengeRelease;
};

/**
 * The agent has prepared, filled the working set, or finished the walk: draw the next seed and
 * start its window. The first ready releases the fill's seed (the compute seed where there is no
 * memory phase); the ready saying `filled`, in time, releases the walk's seed; the ready carrying
 * the walk's root, in time, releases the compute seed. A repeated ready (its answer was lost)
 * gets the same release back, so it gains nothing. Throws for a ready that is malformed, not this
 * node's, late, or out of order.
 */
export function acceptReady(record: ChallengeRecord, body: unknown, context: ReadyContext): Released {
  const ready = parseOrRefuse(ChallengeReady, body, "invalid_ready");
  checkSender(record, ready.challengeId, context.nodeId);
  const { challenge } = record;
  if (ready.filled && ready.memory !== undefined) {
    throw new VerificationError(
      "invalid_ready",
      `a ready for ${challenge.id} says filled or carries the walk's root, not both`,
    );
  }
  const model = (): ReturnType<typeof modelOf> => modelOf(challenge.model, context.models);
  const seed = (): string => toHex((context.random ?? cryptoRandomBytes)(32));
  if (record.state === "issued") {
    if (ready.memory !== undefined || ready.filled) {
      throw new VerificationError(
        "challenge_not_released",
        `challenge ${challenge.id} has no memory seed yet`,
      );
    }
    if (context.now > challenge.readyBy) {
      throw new VerificationError(
        "challenge_expired",
        `the ready for ${challenge.id} came after its setup deadline`,
      );
    }
    if (challenge.memory !== null) {
      const memoryRelease: ChallengeRelease = {
        challengeId: challenge.id,
        phase: "memory",
        seed: seed(),
        releasedAt: context.now,
        expiresAt: context.now + fillWindowMs(model(), challenge.memory),
      };
      return { record: { state: "memory", challenge, memoryRelease }, release: memoryRelease };
    }
    const release = computeRelease(record, context, seed(), model());
    return { record: { state: "released", challenge, release }, release };
  }
  if (record.state === "memory") {
    if (ready.memory !== undefined) {
      throw new VerificationError(
        "challenge_not_released",
        `challenge ${challenge.id} has no walk seed yet: send filled first`,
      );
    }
    if (!ready.filled) return { record, release: record.memoryRelease };
    if (context.now > record.memoryRelease.expiresAt) {
      throw new VerificationError(
        "challenge_expired",
        `the fill for ${challenge.id} came after its deadline`,
      );
    }
    const spec = challenge.memory;
    if (spec === null)
      throw new VerificationError("challenge_replayed", `${challenge.id} has no memory phase`);
    const walkRelease: ChallengeRelease = {
      challengeId: challenge.id,
      phase: "walk",
      seed: seed(),
      releasedAt: context.now,
      expiresAt: context.now + walkWindowMs(model(), spec),
    };
    return {
      record: { state: "walk", challenge, memoryRelease: record.memoryRelease, walkRelease },
      release: walkRelease,
    };
  }
  if (record.state === "walk") {
    if (ready.filled) return { record, release: record.walkRelease };
    if (ready.memory === undefined) {
      throw new VerificationError(
        "challenge_replayed",
        `challenge ${challenge.id} was already filled: send the walk's root`,
      );
    }
    if (context.now > record.walkRelease.expiresAt) {
      throw new VerificationError(
        "challenge_expired",
        `the memory commit for ${challenge.id} came after its deadline`,
      );
    }
    const release = computeRelease(record, context, seed(), model());
    const memory = {
      fill: record.memoryRelease,
      release: record.walkRelease,
      root: ready.memory.root,
      committedAt: context.now,
    };
    return { record: { state: "released", challenge, release, memory }, release };
  }
  if (record.state === "released" && !ready.filled) {
    if ((ready.memory === undefined) === (record.memory === undefined)) {
      if (ready.memory === undefined || ready.memory.root === record.memory?.root) {
        return { record, release: record.release };
      }
    }
  }
  throw new VerificationError("challenge_replayed", `challenge ${challenge.id} was already released`);
}

function computeRelease(
  record: ChallengeRecord,
  context: ReadyContext,
  seed: string,
  model: ReturnType<typeof modelOf>,
): ChallengeRelease {
  return {
    challengeId: record.challenge.id,
    phase: "compute",
    seed,
    releasedAt: context.now,
    expiresAt: context.now + commitWindowMs(model, record.challenge, context.window),
  };
}
