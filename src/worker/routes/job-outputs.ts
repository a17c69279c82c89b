import { Hono } from "hono";
import { OutputList, type OutputView } from "../../shared/storage/agent-storage-protocol.js";
import type { AppEnv } from "../hono-env.js";
import { ownJob } from "../job-records.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_OUTPUTS } from "../openapi/sample-storage.js";
import { ipfsKey } from "../storage/attempt-grant.js";
import type { StoredObject } from "../storage/object-target.js";
import { outputRows } from "../storage/output-uploads.js";
import { openSecrets } from "../storage/secret-store.js";
import { targetOfStored } from "../storage/targets.js";

function locationOf(stored: StoredObject): string {
  return stored.kind === "r2" ? `r2://${stored.key}` : `s3://${stored.bucket}/${stored.key}`;
}

/** GET /v1/jobs/:id/outputs: each file uploaded, its size, SHA-256, CID and a short-lived link. */
export const jobOutputRoutes = new Hono<AppEnv>().get(
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
);
