import { z } from "zod";

/** DELETE /v1/jobs/:id/outputs: every output file, or the one whose `path` is given. */
export const OutputDeleteQuery = z
  .object({
    /** A file's path as the outputs view lists it, e.g. `/outputs/model.bin`. */
    path: z
      .string()
      .min(2)
      .max(1024)
      .regex(/^\/[^\0]*$/, "a file's path as GET /v1/jobs/:id/outputs lists it, starting with /")
      .optional(),
  })
  .strict();
export type OutputDeleteQuery = z.infer<typeof OutputDeleteQuery>;

/** What a delete freed and what keeping the files until then cost. */
export const OutputsDeleted = z.object({
  jobId: z.string(),
  /** Files no longer listed. */
  files: z.number().int(),
  /** Their bytes. */
  bytes: z.number().int(),
  /** Objects deleted from the platform's storage (a key another output still names stays). */
  objects: z.number().int(),
  /** Objects deleted from the user's own S3 bucket, with the credentials secret their output named. */
  deletedInYourBucket: z.number().int().default(0),
  /** Files in the user's own S3 bucket unlisted but left there: another listed output names the same object. */
  keptInYourBucket: z.number().int(),
  /** What keeping the platform-stored files from their upload until now cost, charged now. */
  chargedMicros: z.number().int(),
});
export type OutputsDeleted = z.infer<typeof OutputsDeleted>;
