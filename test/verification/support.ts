import { type GpuModel, gpuModelById } from "../../src/shared/gpu-catalog.js";
import {
  acceptReady,
  type ChallengeRecord,
  issueChallenge,
  type ModelLookup,
} from "../../src/shared/verification/challenge-lifecycle.js";
import { flopsOf } from "../../src/shared/verification/challenge-size.js";
import type { MemoryWalkSize } from "../../src/shared/verification/memory-size.js";
import type { VerificationChallenge, VerificationCommit } from "../../src/shared/verification/messages.js";
import type { RandomBytes } from "../../src/shared/verification/random-source.js";
import { hash32 } from "../../src/shared/verification/seeded-matrix.js";

export const NODE = "node_0123456789abcdefghjkmnpqrs";
export const OTHER_NODE = "node_zyxwvtsrqpnmkjhgfedcba9876";
export const T0 = 1_800_000_000_000;
export const H100_VRAM_MIB = 81_559;

/**
 * The verifier times the products itself (release → commit on its clock), so a test challenge of
 * a million FLOPs can only be judged against parts far slower than the real ones: `testModels` is
 * the catalogue with every compute rate scaled by SCALE (an H100's 989 TFLOP/s becomes 49 kFLOP/s),
 * so a 64×64, 2-block challenge takes an H100 21 s of virtual time at its datasheet rate, as a
 * production challenge does (~19 s), and the window's fixed allowance weighs what it weighs there.
 */
export const SCALE = 5e-11;

function scaled(model: GpuModel): GpuModel {
  return {
    ...model,
    bf16Tflops: model.bf16Tflops * SCALE,
    fp16Tflops: model.fp16Tflops * SCALE,
    fp32Tflops: model.fp32Tflops * SCALE,
  };
}

export const testModels: ModelLookup = (id) => {
  const model = gpuModelById(id);
  return model ? scaled(model) : undefined;
};

/** Milliseconds a part at `tflops` (real, unscaled figures) takes for the challenge's products. */
export function scaledMs(challenge: Pick<VerificationChallenge, "n" | "blocks">, tflops: number): number {
  return (flopsOf(challenge) / (tflops * 1e12 * SCALE)) * 1000;
}

/** A replayable random source, so every probabilistic case runs the same way each time. */
export function seededRandom(seed: number): RandomBytes {
  let counter = seed >>> 0;
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      counter = (counter + 1) >>> 0;
      out[i] = hash32(counter ^ Math.imul(seed, 0x9e3779b9)) & 0xff;
    }
    return out;
  };
}

export function issueSmall(
  options: {
    seed?: number;
    n?: number;
    blocks?: number;
    vramMib?: number;
    model?: string;
    nodeId?: string;
    /** The memory phase: none by default (these tests are of the compute phase). */
    memory?: MemoryWalkSize | null;
  } = {},
): ChallengeRecord & { state: "issued" } {
  return issueChallenge({
    nodeId: options.nodeId ?? NODE,
    gpu: { uuid: "GPU-test", model: options.model ?? "H100-SXM", vramMib: options.vramMib ?? H100_VRAM_MIB },
    now: T0,
    size: { n: options.n ?? 64, blocks: options.blocks ?? 2 },
    memory: options.memory ?? null,
    random: seededRandom(options.seed ?? 1),
    models: testModels,
  });
}

/**
 * What a real H100 SXM measures (test/fixtures/nvidia-smi/README.md): 790 TFLOP/s, 3.0 TB/s; the
 * products' time on the scaled clock (testModels).
 */
export function h100Figures(
  challenge: VerificationChallenge,
  tflops = 790,
  scale = SCALE,
): VerificationCommit["measured"] {
  return {
    matmulMs: (scaledMs(challenge, tflops) * SCALE) / scale,
    bandwidthGBps: 3000,
    bandwidthBytes: challenge.bandwidthBytes,
    vramAllocatedMib: Math.ceil(challenge.vramMib * 0.97),
    totalMs: 9_000,
  };
}

/** The agent says ready at `now` (2 s after issue by default): the record is released. */
export function released(
  record: ChallengeRecord & { state: "issued" },
  now = T0 + 2_000,
  seed = 1,
  models: ModelLookup = testModels,
): ChallengeRecord & { state: "released" } {
  return asReleased(
    acceptReady(
      record,
      { challengeId: record.challenge.id },
      {
        nodeId: record.challenge.nodeId,
        now,
        random: seededRandom(1_000 + seed),
        models,
      },
    ).record,
  );
}

/** A record past its ready, which must have released the compute phase (no memory phase). */
export function asReleased(record: ChallengeRecord): ChallengeRecord & { state: "released" } {
  if (record.state !== "released") throw new Error(`expected a released record, not ${record.state}`);
  return record;
}
