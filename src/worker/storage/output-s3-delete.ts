import type { StoredObject } from "./object-target.js";
import { openSecrets } from "./secret-store.js";
import { s3Target } from "./targets.js";

type S3Object = Extract<StoredObject, { kind: "s3" }>;

/** A listed output file in the user's own bucket, and which row it is. */
export interface S3OutputRow {
  jobId: string;
  path: string;
  location: S3Object;
}

/** Objects of one bucket reached with one credentials secret. */
function groupsOf(rows: readonly S3OutputRow[]): Map<string, S3Object[]> {
  const groups = new Map<string, S3Object[]>();
  for (const row of rows) {
    const { endpoint, region, bucket, credentials } = row.location;
    const id = JSON.stringify([endpoint, region, bucket, credentials]);
    groups.set(id, [...(groups.get(id) ?? []), row.location]);
  }
  return groups;
}

/** Keys in `bucket` at `endpoint` that a listed output other than the doomed rows still names. */
async function sharedKeys(
  env: Env,
  objects: readonly S3Object[],
  doomed: (row: { jobId: string; path: string }) => boolean,
): Promise<Set<string>> {
  const shared = new Set<string>();
  const first = objects[0];
  if (!first) return shared;
  const keys = [...new Set(objects.map((o) => o.key))];
  for (let i = 0; i < keys.length; i += 50) {
    const slice = keys.slice(i, i + 50);
    const { results } = await env.DB.prepare(
      `SELECT job_id AS jobId, path, json_extract(location, '$.key') AS key FROM job_outputs
       WHERE json_extract(location, '$.kind') = 's3' AND json_extract(location, '$.endpoint') = ?
         AND json_extract(location, '$.bucket') = ?
         AND json_extract(location, '$.key') IN (${slice.map(() => "?").join(",")})`,
    )
      .bind(first.endpoint, first.bucket, ...slice)
      .all<{ jobId: string; path: string; key: string }>();
    for (const row of results) if (!doomed(row)) shared.add(row.key);
  }
  return shared;
}

/**
 * Deletes output files from the user's own S3 bucket with the credentials secret the output named
 * (DeleteObjects, 1,000 keys a call), except objects another listed output still names. Throws
 * (422 `secret_not_found`, `bad_credentials_secret`, `storage_refused`, `storage_unreachable`)
 * before anything of a later bucket is touched; the caller keeps the rows then, so a retry finds them.
 */
export async function deleteS3Outputs(
  env: Env,
  accountId: string,
  rows: readonly S3OutputRow[],
): Promise<{ deleted: number; kept: number }> {
  const doomedRows = new Set(rows.map((row) => JSON.stringify([row.jobId, row.path])));
  const doomed = (row: { jobId: string; path: string }) =>
    doomedRows.has(JSON.stringify([row.jobId, row.path]));
  let deleted = 0;
  let kept = 0;
  for (const objects of groupsOf(rows).values()) {
    const first = objects[0];
    if (!first) continue;
    const shared = await sharedKeys(env, objects, doomed);
    const keys = [...new Set(objects.map((o) => o.key))].filter((key) => !shared.has(key));
    kept += objects.filter((o) => shared.has(o.key)).length;
    if (keys.length === 0) continue;
    const secrets = await openSecrets(env, accountId, [first.credentials]);
    const target = s3Target(
      env,
      { endpoint: first.endpoint, region: first.region, credentials: { secret: first.credentials } },
      first.bucket,
      secrets,
    );
    await target.deleteKeys(keys);
    deleted += keys.length;
  }
  return { deleted, kept };
}
