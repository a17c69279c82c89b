import { gpuModelById } from "../../src/shared/gpu-catalog.js";
import {
  acceptReady,
  type ChallengeRecord,
  issueChallenge,
} from "../../src/shared/verification/challenge-lifecycle.js";
import { flopsOf } from "../../src/shared/verification/challenge-size.js";
import type { VerificationChallenge, VerificationCommit } from "../../src/shared/verification/messages.js";
import type { RandomBytes } from "../../src/shared/verification/random-source.js";
import { hash32 } from "../../src/shared/verification/seeded-matrix.js";

export const NODE = "node_0123456789abcdefghjkmnpqrs";
export const OTHER_NODE = "node_zyxwvtsrqpnmkjhgfedcba9876";
export const T0 = 1_800_000_000_000;
export const H100_VRAM_MIB = 81_559;

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
  } = {},
): ChallengeRecord & { state: "issued" } {
  return issueChallenge({
    nodeId: options.nodeId ?? NODE,
    gpu: { uuid: "GPU-test", model: options.model ?? "H100-SXM", vramMib: options.vramMib ?? H100_VRAM_MIB },
    now: T0,
    size: { n: options.n ?? 64, blocks: options.blocks ?? 2 },
    random: seededRandom(options.seed ?? 1),
  });
}

/** What a real H100 SXM measures (test/fixtures/nvidia-smi/README.md): 790 TFLOP/s, 3.0 TB/s. */
export function h100Figures(challenge: VerificationChallenge, tflops = 790): VerificationCommit["measured"] {
  const model = gpuModelById("H100-SXM");
  if (model === undefined) throw new Error("H100-SXM is in the catalogue");
  return {
    matmulMs: (flopsOf(challenge) / (tflops * 1e12)) * 1000,
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
): ChallengeRecord & { state: "released" } {
  return acceptReady(
    record,
    { challengeId: record.challenge.id },
    {
      nodeId: record.challenge.nodeId,
      now,
      random: seededRandom(1_000 + seed),
    },
  ).record;
}
