import { type Context, Hono } from "hono";
import type { z } from "zod";
import { unwrap } from "../../durable/rpc-result.js";
import { AttemptId } from "../../shared/agent-protocol.js";
import { MeridianError } from "../../shared/errors.js";
import {
  CheckpointBlobsRequest,
  CheckpointBlobsResponse,
  CheckpointCommitRequest,
  CheckpointCommitResponse,
  FencedRequest,
  OutputsBeginRequest,
  OutputsBeginResponse,
  OutputsCompleteRequest,
  OutputsCompleteResponse,
  StorageGrant,
  UploadUrlsRequest,
  UploadUrlsResponse,
} from "../../shared/storage/agent-storage-protocol.js";
import type { AppEnv } from "../hono-env.js";
import { parseJsonText, parseOrThrow } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import {
  SAMPLE_BLOBS,
  SAMPLE_BLOBS_REQUEST,
  SAMPLE_COMMIT,
  SAMPLE_COMMIT_REQUEST,
  SAMPLE_FENCED,
  SAMPLE_GRANT,
  SAMPLE_OUTPUTS_BEGIN,
  SAMPLE_OUTPUTS_BEGIN_REQUEST,
  SAMPLE_OUTPUTS_COMPLETE_REQUEST,
  SAMPLE_UPLOAD_URLS,
  SAMPLE_UPLOAD_URLS_REQUEST,
} from "../openapi/sample-storage.js";
import { agentStub, jobStub } from "../region-routing.js";
import { type AttemptContext, storageGrant } from "../storage/attempt-grant.js";
import { openCheckpointPlace } from "../storage/checkpoint-place.js";
import { blobUploads, checkpointBytes, commitCheckpoint } from "../storage/checkpoint-store.js";
import { beginUploads, completeUploads } from "../storage/output-uploads.js";
import { renewUploadUrls } from "../storage/upload-renewal.js";

/**
 * The signed body, parsed, and the job of the attempt it names, vouched for by the Region object:
 * only the node holding the current lease gets secrets and URLs.
 */
async function currentAttempt<S extends z.ZodType<{ fencing: number }>>(
  c: Context<AppEnv>,
  schema: S,
): Promise<{ body: z.output<S>; attempt: AttemptContext; origin: string }> {
  const agent = c.get("agent");
  if (!agent.region) {
    throw new MeridianError(400, "missing_region", "send the x-meridian-region header given at registration");
  }
  const attemptId = parseOrThrow(AttemptId, c.req.param("attemptId"), "attempt id");
  const body = parseOrThrow(schema, parseJsonText(agent.body), "storage request");
  const job = unwrap(
    await (await agentStub(c.env, agent.region, agent.publicKey)).attemptOf(agent, attemptId, body.fencing),
  );
  return {
    body,
    attempt: { jobId: job.jobId, accountId: job.accountId, attemptId, spec: job.spec },
    origin: new URL(c.req.url).origin,
  };
}

/** /v1/agent/attempts/:attemptId/storage/…, behind the agent routes' signature check. */
export const agentStorageRoutes = new Hono<AppEnv>()
  .post(
    "/:attemptId/storage/grant",
    doc({
      id: "agentStorageGrant",
      tag: "Agent",
      summary: "An attempt's secrets, input URLs and checkpoint to restore",
      description: "Only for the node holding the attempt's current lease (its fencing number).",
      auth: "agent",
      body: FencedRequest,
      bodyExample: SAMPLE_FENCED,
      response: { schema: StorageGrant, example: SAMPLE_GRANT },
      errors: [409, 422],
    }),
    async (c) => {
      const { attempt, origin } = await currentAttempt(c, FencedRequest);
      return c.json(await storageGrant(c.env, origin, attempt));
    },
  )
  .post(
    "/:attemptId/storage/checkpoint/blobs",
    doc({
      id: "agentCheckpointBlobs",
      tag: "Agent",
      summary: "Upload URLs for a checkpoint's blobs not yet stored",
      auth: "agent",
      body: CheckpointBlobsRequest,
      bodyExample: SAMPLE_BLOBS_REQUEST,
      response: { schema: CheckpointBlobsResponse, example: SAMPLE_BLOBS },
      errors: [409, 422],
    }),
    async (c) => {
      const { body, attempt, origin } = await currentAttempt(c, CheckpointBlobsRequest);
      const place = await openCheckpointPlace(c.env, origin, attempt);
      return c.json({ uploads: await blobUploads(c.env, place, attempt, body.blobs) });
    },
  )
  .post(
    "/:attemptId/storage/checkpoint/commit",
    doc({
      id: "agentCheckpointCommit",
      tag: "Agent",
      summary: "Commit a checkpoint's manifest (after its blobs)",
      auth: "agent",
      body: CheckpointCommitRequest,
      bodyExample: SAMPLE_COMMIT_REQUEST,
      response: { schema: CheckpointCommitResponse, example: SAMPLE_COMMIT },
      errors: [409, 422],
    }),
    async (c) => {
      const { body, attempt, origin } = await currentAttempt(c, CheckpointCommitRequest);
      if (!attempt.spec.checkpoint)
        throw new MeridianError(422, "no_checkpoint", "the job has no checkpoint folder");
      const place = await openCheckpointPlace(c.env, origin, attempt);
      const committed = await commitCheckpoint(c.env, place, {
        jobId: attempt.jobId,
        attemptId: attempt.attemptId,
        files: body.files,
        uploads: body.uploads,
        intervalSeconds: attempt.spec.checkpoint.intervalSeconds,
      });
      // The region keeps what the job's checkpoints hold stored (every kept checkpoint's distinct
      // blobs, not only this one's): a pause bills that.
      const region = c.get("agent").region;
      if (region)
        await jobStub(c.env, region, attempt.jobId).checkpointStored(
          attempt.jobId,
          committed.seq,
          await checkpointBytes(c.env, attempt.jobId),
        );
      return c.json(committed);
    },
  )
  .post(
    "/:attemptId/storage/outputs/begin",
    doc({
      id: "agentOutputsBegin",
      tag: "Agent",
      summary: "Upload URLs for an attempt's output files",
      auth: "agent",
      body: OutputsBeginRequest,
      bodyExample: SAMPLE_OUTPUTS_BEGIN_REQUEST,
      response: { schema: OutputsBeginResponse, example: SAMPLE_OUTPUTS_BEGIN },
      errors: [409, 422],
    }),
    async (c) => {
      const { body, attempt, origin } = await currentAttempt(c, OutputsBeginRequest);
      return c.json({ uploads: await beginUploads(c.env, origin, attempt, body.files) });
    },
  )
  .post(
    "/:attemptId/storage/urls",
    doc({
      id: "agentUploadUrls",
      tag: "Agent",
      summary: "Fresh URLs for an upload still open",
      description:
        "URLs expire after `STORAGE_URL_TTL_SECONDS`; an upload that outlasts them (a large file on a slow link) asks here for new ones: part URLs for the parts still to send of a multipart upload (an output's or a checkpoint blob's), or a new PUT URL for a single-PUT output. 404 `no_such_upload` once the upload was completed or aborted, 409 `upload_closed` for an output already listed.",
      auth: "agent",
      body: UploadUrlsRequest,
      bodyExample: SAMPLE_UPLOAD_URLS_REQUEST,
      response: { schema: UploadUrlsResponse, example: SAMPLE_UPLOAD_URLS },
      errors: [403, 404, 409, 422],
    }),
    async (c) => {
      const { body, attempt, origin } = await currentAttempt(c, UploadUrlsRequest);
      return c.json(await renewUploadUrls(c.env, origin, attempt, body));
    },
  )
  .post(
    "/:attemptId/storage/outputs/complete",
    doc({
      id: "agentOutputsComplete",
      tag: "Agent",
      summary: "Record uploaded output files as the job's outputs",
      auth: "agent",
      body: OutputsCompleteRequest,
      bodyExample: SAMPLE_OUTPUTS_COMPLETE_REQUEST,
      response: { schema: OutputsCompleteResponse, example: { recorded: 1 } },
      errors: [403, 409],
    }),
    async (c) => {
      const { body, attempt, origin } = await currentAttempt(c, OutputsCompleteRequest);
      return c.json({ recorded: await completeUploads(c.env, origin, attempt, body.uploads) });
    },
  );
