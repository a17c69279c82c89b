import { z } from "zod";

/**
 * The memory phase on the wire (memory-walk.ts): its size travels in the challenge, the walk's
 * root in the second ready, the openings with the spot-check answer.
 */

/** 2^40 words (4 TiB) is past any part; lanes and steps are bounded so a walk fits in an hour. */
export const MemoryWalkSpec = z
  .object({
    words: z
      .number()
      .int()
      .min(16)
      .max(2 ** 40)
      .refine((words) => words % 16 === 0, "a whole number of chunks"),
    lanes: z
      .number()
      .int()
      .min(1)
      .max(2 ** 26),
    segmentSteps: z.number().int().min(1).max(65_536),
    segments: z.number().int().min(1).max(4096),
    groupLanes: z.number().int().min(1).max(1024),
    pageGroups: z.number().int().min(1).max(65_536),
  })
  .strict()
  .refine((spec) => spec.lanes % spec.groupLanes === 0, "lanes are whole groups");
export type MemoryWalkSpec = z.infer<typeof MemoryWalkSpec>;

const Hash = z.string().regex(/^[0-9a-f]{64}$/, "a SHA-256 digest in lower-case hex");

/** The memory commit: sent as the second ready, it releases the compute seed. */
export const MemoryCommit = z
  .object({
    /** Merkle root over the walk's group-digest pages (walk-commitment.ts). */
    root: Hash,
  })
  .strict();
export type MemoryCommit = z.infer<typeof MemoryCommit>;

export const WalkOpening = z
  .object({
    group: z.number().int().min(0),
    /** The group's lane states after every segment, lane-major, little-endian uint32, base64. */
    checkpoints: z.string().max(512 * 1024),
    /** The page of group digests that holds this group's, little-endian uint32, base64. */
    page: z.string().max(512 * 1024),
    proof: z.array(Hash).max(40),
  })
  .strict();
export type WalkOpening = z.infer<typeof WalkOpening>;
