import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { OutputList, type OutputView } from "../../shared/storage/agent-storage-protocol.js";
import { OutputDeleteQuery, OutputsDeleted } from "../../shared/storage/output-delete-api.js";
import { auditStatement } from "../audit-log.js";
import type { AppEnv } from "../hono-env.js";
import { ownJob } from "../job-records.js";
import { queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_IDS } from "../openapi/sample-bodies.js";
import { SAMPLE_OUTPUTS } from "../openapi/sample-storage.js";
import { callerAddress } from "../rate-limits.js";
import { ipfsKey } from "../storage/attempt-grant.js";
import type { StoredObject } from "../storage/object-target.js";
import { deleteOutputs } from "../storage/output-delete.js";
import { outputRows } from "../storage/output-uploads.js";
import { openSecrets } from "../storage/secret-store.js";
import { targetOfStored } from "../storage/targets.js";

function locationOf(stored: StoredObject): string {
  return stored.kind === "r2" ? `r2://${stored.key}` : `s3://${stored.bucket}/${stored.key}`;
}

/**
 * GET /v1/jobs/:id/outputs: each file uploaded, its size, SHA-256, CID and a short-lived link;
 * DELETE: the files now, billing stopped at that moment.
 */
export const jobOutputRoutes = new Hono<AppEnv>()
  .get(
    "/:id/outputs",
    doc({
      id: "listJobOutputs",
      tag: "Jobs",
      summary: "A job's output files",
      description:
        "Each file its attempts uploaded: size, SHA-256, IPFS CID where it went to IPFS, a short-lived download link, and when it expires: files in the platform's storage are kept for the output's `keepForSeconds` (default the deployment's `OUTPUT_RETENTION_SECONDS`, 30 days) from their upload, billed per GB-month, then deleted; files in the user's own S3 bucket stay (`expiresAt` null).",
      response: { schema: OutputList, example: SAMPLE_OUTPUTS },
    }),
    async (c) => {
      const accountId = c.get("accountId");
      const job = await ownJob(c.env.DB, accountId, c.req.param("id"));
      const rows = await outputRows(c.env.DB, job.id);
      const origin = new URL(c.req.url).origin;
      const stored = rows.map((row) => row.location as StoredObject);
      const names = [...new Set(stored.flatMap((s) => (s.kind === "s3" ? [s.credentials] : [])))];
      // A store whose credentials secret was deleted since still lists its files, without a link.
      const secrets = await openSecrets(c.env, accountId, names).catch(() => new Map<string, string>());
      const outputs: OutputView[] = await Promise.all(
        rows.map(async (row, i) => {
          const location = stored[i] ?? { kind: "r2" as const, key: "" };
          let downloadUrl = "";
          if (row.cid !== null && location.kind === "r2" && location.key === ipfsKey(row.cid)) {
            downloadUrl = `${origin}/v1/storage/ipfs/${row.cid}`;
          } else {
            downloadUrl = await targetOfStored(c.env, origin, location, secrets)
              .getUrl(location.key)
              .catch(() => "");
          }
          return {
            path: row.path,
            size: row.size,
            sha256: row.sha256,
            cid: row.cid,
            attemptId: row.attemptId,
            location: row.cid !== null ? `ipfs://${row.cid}` : locationOf(location),
            downloadUrl,
            createdAt: new Date(row.createdAt).toISOString(),
            expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
          };
        }),
      );
      return c.json({ outputs });
    },
  )
  .delete(
    "/:id/outputs",
    doc({
      id: "deleteJobOutputs",
      tag: "Jobs",
      summary: "Delete a job's output files now",
      description:
        "Deletes every output file of the job, or with `?path=` the one the outputs view lists at that path, before its expiry: the objects leave the platform's storage (a key another output still lists stays for it), the time each file was kept since its upload is charged now and billing stops. Files in the user's own S3 bucket are deleted there too (DeleteObjects, signed with the credentials secret the output named; an object another listed output names is left and counted in `keptInYourBucket`); when that secret is gone or the bucket refuses, the answer is 422 and nothing is deleted or unlisted. Deleting files already gone is no error (`files: 0`). Recorded in the audit log as `outputs.deleted`.",
      query: OutputDeleteQuery,
      response: {
        schema: OutputsDeleted,
        example: {
          jobId: SAMPLE_IDS.job,
          files: 2,
          bytes: 1_000_000_000,
          objects: 2,
          deletedInYourBucket: 0,
          keptInYourBucket: 0,
          chargedMicros: 233,
        },
      },
      errors: [404, 422],
    }),
    async (c) => {
      const accountId = c.get("accountId");
      const { path } = queryOf(c, OutputDeleteQuery);
      const job = await ownJob(c.env.DB, accountId, c.req.param("id"));
      const db = drizzle(c.env.DB);
      const now = Date.now();
      const deleted = await deleteOutputs(c.env, { jobId: job.id, accountId }, path, now, (result) => [
        auditStatement(db, {
          accountId,
          action: "outputs.deleted",
          subject: job.id,
          keyId: c.get("keyId"),
          address: callerAddress(c.req),
          details: {
            path: path ?? null,
            files: result.files,
            bytes: result.bytes,
            deletedInYourBucket: result.deletedInYourBucket,
            chargedMicros: result.chargedMicros,
          },
          now,
        }),
      ]);
      return c.json(deleted);
    },
  );
