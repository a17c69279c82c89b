import { z } from "zod";

/** GET /v1/operator/storage/sweeps?only=stuck|all: the storage sweeps' failing items. */
export const SweepItemsQuery = z
  .object({
    /** `stuck`: only items that failed STUCK_AFTER (5) times or more, which need an operator. */
    only: z.enum(["stuck", "all"]).default("all"),
  })
  .strict();

/** One item a storage sweep keeps failing on, and when it tries again. */
export const SweepItemView = z.object({
  /** `checkpoints` (id: a job), `upload` (id: a multipart upload), `outputs` (id: `<job>@<expiry ms>`). */
  kind: z.string(),
  itemId: z.string(),
  attempts: z.number().int(),
  /** Failed STUCK_AFTER times or more: the store refuses, and waiting alone may not mend it. */
  stuck: z.boolean(),
  retryAt: z.string(),
  lastError: z.string(),
  updatedAt: z.string(),
});

export const SweepItemList = z.object({
  /** Most failures first, at most 200. */
  items: z.array(SweepItemView),
  /** How many items are stuck in all. */
  stuck: z.number().int(),
});
export type SweepItemList = z.infer<typeof SweepItemList>;
