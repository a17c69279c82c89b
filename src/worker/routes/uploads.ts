import { Hono } from "hono";
import { z } from "zod";
import { parseStorageUrl } from "../../shared/storage/job-storage.js";
import type { AppEnv } from "../hono-env.js";
import { jsonBody } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_UPLOAD, SAMPLE_UPLOAD_REQUEST } from "../openapi/sample-storage.js";
import { R2Target } from "../storage/r2-target.js";
import { accountKey } from "../storage/targets.js";

/** Largest object one PUT takes through the Worker (Workers' request body limit is 100 MB). */
const MAX_UPLOAD_BYTES = 100 * 1000 * 1000;

const UploadRequest = z
  .object({
    /** Where the object goes, as jobs name it: r2://datasets/train.bin */
    to: z.string().superRefine((to, ctx) => {
      const parsed = parseStorageUrl(to);
      if ("error" in parsed || parsed.scheme !== "r2") {
        ctx.addIssue({ code: "custom", message: "an r2:// path, e.g. r2://datasets/train.bin" });
      }
    }),
    size: z.number().int().min(0).max(MAX_UPLOAD_BYTES),
  })
  .strict();

const UploadUrl = z.object({ to: z.string(), url: z.string(), method: z.literal("PUT") });

/**
 * POST /v1/uploads: a short-lived URL to PUT an object into the account's R2 space, so a job can
 * name it as an `r2://` input. Larger data goes to an S3-compatible store the job reads from.
 */
export const uploadRoutes = new Hono<AppEnv>().post(
  "/",
  doc({
    id: "createUploadUrl",
    tag: "Storage",
    summary: "A URL to upload an object to R2",
    description:
      "A short-lived URL to PUT one object (with its Content-Length, at most 100 MB) into the account's R2 space; jobs then name it as an `r2://` input.",
    body: UploadRequest,
    bodyExample: SAMPLE_UPLOAD_REQUEST,
    response: { status: 201, schema: UploadUrl, example: SAMPLE_UPLOAD },
  }),
  async (c) => {
    const body = await jsonBody(c, UploadRequest);
    const path = body.to.slice("r2://".length);
    const target = new R2Target(c.env, new URL(c.req.url).origin);
    const url = await target.putUrl(accountKey(c.get("accountId"), path), body.size);
    return c.json({ to: body.to, url, method: "PUT" as const }, 201);
  },
);
