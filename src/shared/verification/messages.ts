import { z } from "zod";
import { NodeId } from "../id-schemas.js";
import {
  AttestationNonce,
  AttestationVerdict,
  GpuAttestationEvidence,
} from "./attestation/attestation-messages.js";
import { MemoryCommit, MemoryWalkSpec, WalkOpening } from "./walk-messages.js";

/**
 * The wire messages of proof-of-GPU verification, in protocol order:
 * challenge (Region → agent, no seed) → ready (agent → Region, once prepared) → release (Region →
 * agent: the seed; the commit window starts now) → commit (agent → Region) → spot-check request
 * (Region → agent) → answer (agent → Region). Times are milliseconds since the epoch, as in
 * agent-protocol.ts.
 */

export const ChallengeId = z.string().regex(/^vch_[0-9a-f]{32}$/, "a challenge id");
const Hash = z.string().regex(/^[0-9a-f]{64}$/, "a SHA-256 digest in lower-case hex");
const PowerOfTwo = (min: number, max: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(max)
    .refine((value) => (value & (value - 1)) === 0, "a power of two");

/** Matrices larger than this could overflow fp16 in the worst case and exceed 2^24 in fp32. */
export const MAX_MATRIX_SIZE = 16384;
/** Enough for ~20 s of a B200 at n = 16384 (challenge-size.ts sizes every model below it). */
export const MAX_BLOCKS = 16384;
export const MIN_BANDWIDTH_BYTES = 1024 ** 3;
/**
 * Physical ranges of a commit's figures: no challenge runs longer than an hour, no part copies
 * memory at 50 TB/s (a B200 lists 8) or holds a TiB of VRAM. A figure outside them is refused, not
 * judged: it could only be a lie or a bug, and must not reach the record.
 */
export const MAX_REPORTED_MS = 3_600_000;
export const MAX_BANDWIDTH_GBPS = 50_000;
export const MAX_VRAM_MIB = 1024 * 1024;

export const VerificationChallenge = z
  .object({
    id: ChallengeId,
    nodeId: NodeId,
    /** The GPU under test, by the uuid the agent reported. */
    gpuUuid: z.string().min(1).max(128),
    /** The catalogue model the node claims for it. */
    model: z.string().min(1).max(32),
    /** The VRAM the node claims for it; the agent must allocate ≥ 95% of it. */
    vramMib: z.number().int().min(0),
    /** A is n×n; each B block is n×n; C has `blocks` n×n blocks. */
    n: PowerOfTwo(16, MAX_MATRIX_SIZE),
    /** Any count: the block tree pads to a power of two (merkle.ts). */
    blocks: z.number().int().min(1).max(MAX_BLOCKS),
    dtype: z.enum(["bf16", "fp16"]),
    /** Size of the buffers of the bandwidth test; ≥ 1 GiB so no cache holds them. */
    bandwidthBytes: z.number().int().min(MIN_BANDWIDTH_BYTES),
    /**
     * The memory phase (memory-walk.ts), run first: a working set of ≥ 90% of the claimed VRAM and
     * a walk over it, timed from its own release. Null: no memory phase (tests of the compute
     * phase alone); the region always sets it.
     */
    memory: MemoryWalkSpec.nullable(),
    /**
     * For a part that can attest (attestation/attestable-parts.ts): the nonce the GPU's attestation
     * report must carry, drawn at issue. The answer may bring the report (`attestation`); without
     * one the GPU is timing-verified, not attested.
     */
    attestationNonce: AttestationNonce.optional(),
    issuedAt: z.number().int(),
    /**
     * The ready must arrive by then. The seed is withheld until ready, so setup (starting the
     * runner, allocating VRAM, the bandwidth test, warm-up) is outside the timed window.
     */
    readyBy: z.number().int(),
  })
  .strict();
export type VerificationChallenge = z.infer<typeof VerificationChallenge>;

/**
 * The agent has prepared (runner up, kernels warm): send the seed. Where the challenge has a
 * memory phase it is sent twice more: with `filled` once the working set is filled (it releases
 * the walk seed), then with `memory` once the walk is done: its root, which releases the compute
 * phase's seed.
 */
export const ChallengeReady = z
  .object({ challengeId: ChallengeId, filled: z.literal(true).optional(), memory: MemoryCommit.optional() })
  .strict();
export type ChallengeReady = z.infer<typeof ChallengeReady>;

/** The answer to a ready: the seed, and the commit deadline that starts at release. */
export const ChallengeRelease = z
  .object({
    challengeId: ChallengeId,
    /**
     * Which phase this seed starts: the memory phase's fill (its working set, memory-walk.ts),
     * its walk (the lanes' starts), or the compute phase (the matrices, seeded-matrix.ts). Each
     * has its own seed, drawn at its release, so none can start early.
     */
    phase: z.enum(["memory", "walk", "compute"]),
    /** 32 random bytes, drawn at release. */
    seed: Hash,
    releasedAt: z.number().int(),
    /**
     * The phase's answer (filled, the memory commit, or the commit) must arrive by then: the
     * products at ~60% of datasheet, the walk at 80% of datasheet bandwidth, plus a little.
     */
    expiresAt: z.number().int(),
  })
  .strict();
export type ChallengeRelease = z.infer<typeof ChallengeRelease>;

export const RunnerMode = z.enum(["container", "host-process", "typescript-cpu"]);
export type RunnerMode = z.infer<typeof RunnerMode>;

export const VerificationCommit = z
  .object({
    challengeId: ChallengeId,
    /** Merkle root over the blocks of C, each leaf the hash of its row-digest vector (merkle.ts). */
    root: Hash,
    measured: z
      .object({
        /**
         * GPU time of all `blocks` products together (CUDA events), milliseconds. For the record
         * and a consistency check only: the verifier times the products itself (release → commit).
         */
        matmulMs: z.number().positive().max(MAX_REPORTED_MS),
        /** Device-to-device copy rate, bytes read + written per second, in GB/s (10^9). */
        bandwidthGBps: z.number().positive().max(MAX_BANDWIDTH_GBPS),
        bandwidthBytes: z
          .number()
          .int()
          .min(0)
          .max(2 ** 40),
        /** VRAM the benchmark held at once (allocated and written). */
        vramAllocatedMib: z.number().int().min(0).max(MAX_VRAM_MIB),
        /** Wall time of the whole run, for the record only: nothing is scheduled from it. */
        totalMs: z.number().min(0).max(MAX_REPORTED_MS),
      })
      .strict(),
    runner: z
      .object({
        mode: RunnerMode,
        /** The container image, in container mode. */
        image: z.string().max(256).optional(),
        /** e.g. "torch 2.11.0+cu130 cuda", "numpy 2.4.6 cpu". */
        backend: z.string().max(128),
        /** The device name the backend saw. */
        device: z.string().max(128),
      })
      .strict(),
  })
  .strict();
export type VerificationCommit = z.infer<typeof VerificationCommit>;

export const SpotCheckRequest = z
  .object({
    challengeId: ChallengeId,
    /** Rows (block · n + row) to open, distinct, ascending. */
    leaves: z.array(z.number().int().min(0)).min(1).max(256),
    /** Walk groups to open (walk-check.ts), when the challenge had a memory phase. */
    walkGroups: z.array(z.number().int().min(0)).max(64).optional(),
    answerBy: z.number().int(),
  })
  .strict();
export type SpotCheckRequest = z.infer<typeof SpotCheckRequest>;

export const LeafOpening = z
  .object({
    /** The row opened, block · n + row (the name stays: it is what the spot check asked for). */
    leaf: z.number().int().min(0),
    /** The row's canonical bytes (canonical-value.ts), base64: 32 KiB at n = 16384. */
    row: z.string().max(64 * 1024),
    /** Its block's row digests (row-digest.ts), n little-endian uint32, base64: 64 KiB at 16384. */
    digests: z.string().max(96 * 1024),
    /** Sibling hashes from the block's leaf up, bottom first. */
    proof: z.array(Hash).max(32),
  })
  .strict();
export type LeafOpening = z.infer<typeof LeafOpening>;

export const VerificationAnswer = z
  .object({
    challengeId: ChallengeId,
    openings: z.array(LeafOpening).min(1).max(256),
    walk: z.array(WalkOpening).max(64).optional(),
    /** The GPU's attestation evidence for the challenge's `attestationNonce`, when it has some. */
    attestation: GpuAttestationEvidence.optional(),
  })
  .strict();
export type VerificationAnswer = z.infer<typeof VerificationAnswer>;

export const VerificationOutcome = z.enum(["verified", "suspect", "rejected"]);
export type VerificationOutcome = z.infer<typeof VerificationOutcome>;

export const JudgementReason = z.object({ code: z.string(), message: z.string() });
export type JudgementReason = z.infer<typeof JudgementReason>;

export const VerificationJudgement = z.object({
  challengeId: ChallengeId,
  nodeId: NodeId,
  gpuUuid: z.string(),
  model: z.string(),
  outcome: VerificationOutcome,
  /** Why it is not `verified` (empty when it is). */
  reasons: z.array(JudgementReason),
  /** The measured figures, when the node got as far as committing. */
  measured: z
    .object({
      /** What the verifier timed: the challenge's FLOPs over release → commit on its own clock. */
      tflops: z.number(),
      /** Release → commit on the verifier's clock, milliseconds. */
      elapsedMs: z.number(),
      /** What the agent said its products took (never used for a figure, kept as evidence). */
      claimedTflops: z.number(),
      bandwidthGBps: z.number(),
      vramAllocatedMib: z.number().int(),
      /** Fractions of the catalogue's datasheet figures and of the claimed VRAM. */
      computeRatio: z.number(),
      bandwidthRatio: z.number(),
      vramRatio: z.number(),
      /**
       * The memory phase, region-timed: its release → memory commit, and the VRAM it proved (the
       * working set, once its walk checked out). Absent for a challenge without one.
       */
      memoryElapsedMs: z.number().optional(),
      provenVramMib: z.number().optional(),
    })
    .optional(),
  /**
   * The catalogue part the measurements classify as (part-classifier.ts): what the GPU is listed
   * and priced as. Null when none fits or the challenge had no memory phase to prove VRAM.
   */
  listedAs: z.string().nullable().optional(),
  /**
   * What the GPU's attestation evidence showed (attestation/gpu-attestation.ts); absent when it
   * sent none (the part cannot attest, or the host is not in confidential-computing mode).
   */
  attestation: AttestationVerdict.optional(),
  /** Entries recomputed on the CPU and found right. */
  checkedEntries: z.number().int(),
  judgedAt: z.number().int(),
});
export type VerificationJudgement = z.infer<typeof VerificationJudgement>;
