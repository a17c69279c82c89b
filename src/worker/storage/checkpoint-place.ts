import { MeridianError } from "../../shared/errors.js";
import type { JobSpec } from "../../shared/job-spec.js";
import { parseStorageUrl } from "../../shared/storage/job-storage.js";
import type { ObjectTarget } from "./object-target.js";
import { R2Target } from "./r2-target.js";
import { openSecrets } from "./secret-store.js";
import { joinKey, s3Target } from "./targets.js";

/** Where one job's checkpoints live: a store and the key prefix its blobs and manifests go under. */
export interface CheckpointPlace {
  target: ObjectTarget;
  prefix: string;
}

/**
 * The platform's R2 (checkpoints/<job id>) unless the spec names the user's own S3 bucket
 * (s3://bucket/prefix → <prefix>/<job id>), signed with the credentials from their secret.
 */
export function checkpointPlaceOf(
  env: Env,
  origin: string,
  jobId: string,
  checkpoint: JobSpec["checkpoint"],
  secrets: Map<string, string>,
): CheckpointPlace {
  if (!checkpoint?.to || !checkpoint.s3)
    return { target: new R2Target(env, origin), prefix: `checkpoints/${jobId}` };
  const location = parseStorageUrl(checkpoint.to);
  if ("error" in location || location.scheme !== "s3")
    throw new MeridianError(422, "invalid_checkpoint", "a checkpoint goes to R2 or to s3://bucket/prefix");
  return {
    target: s3Target(env, checkpoint.s3, location.bucket, secrets),
    prefix: joinKey(location.key.replace(/\/+$/, ""), jobId),
  };
}

/** The same, opening the one secret an S3 checkpoint needs. */
export async function openCheckpointPlace(
  env: Env,
  origin: string,
  job: { jobId: string; accountId: string; spec: Pick<JobSpec, "checkpoint"> },
): Promise<CheckpointPlace> {
  const name = job.spec.checkpoint?.s3?.credentials.secret;
  const secrets = name ? await openSecrets(env, job.accountId, [name]) : new Map<string, string>();
  return checkpointPlaceOf(env, origin, job.jobId, job.spec.checkpoint, secrets);
}
