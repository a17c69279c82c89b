import { MeridianError } from "../../shared/errors.js";
import type { JobSpec } from "../../shared/job-spec.js";
import type { StorageGrant } from "../../shared/storage/agent-storage-protocol.js";
import { secretEnv, secretNamesOf } from "../../shared/storage/env-secrets.js";
import { parseStorageUrl } from "../../shared/storage/job-storage.js";
import { checkpointPlaceOf } from "./checkpoint-place.js";
import { blobKey, latestCheckpoint } from "./checkpoint-store.js";
import { R2Target } from "./r2-target.js";
import { openSecrets } from "./secret-store.js";
import { ipfsGateway, partSizeBytes } from "./storage-config.js";
import { inputObject } from "./targets.js";

/** The job behind a current attempt, as the Region object vouched for it. */
export interface AttemptContext {
  jobId: string;
  accountId: string;
  attemptId: string;
  spec: JobSpec;
}

/** The R2 key of an object stored by its IPFS CID (outputs sent to "ipfs", inputs served by CID). */
export function ipfsKey(cid: string): string {
  return `ipfs/${cid}`;
}

/**
 * What the agent of a current attempt gets before its container starts: the secret env values,
 * a short-lived URL for each input, and the latest complete checkpoint to restore, if any.
 */
export async function storageGrant(env: Env, origin: string, attempt: AttemptContext): Promise<StorageGrant> {
  const { spec } = attempt;
  const secrets = await openSecrets(env, attempt.accountId, secretNamesOf(spec));
  const secretValues: Record<string, string> = {};
  for (const [variable, name] of Object.entries(secretEnv(spec.env))) {
    const value = secrets.get(name);
    if (value !== undefined) secretValues[variable] = value;
  }
  const r2 = new R2Target(env, origin);
  const inputs = await Promise.all(
    (spec.inputs ?? []).map(async (input) => {
      const location = parseStorageUrl(input.from);
      if ("error" in location) throw new MeridianError(422, "invalid_input", location.error);
      const base = { from: input.from, to: input.to, ...(input.sha256 ? { sha256: input.sha256 } : {}) };
      if (location.scheme === "https") return { ...base, url: location.url };
      if (location.scheme === "ipfs") {
        const gateway = ipfsGateway(env);
        const url =
          (await r2.head(ipfsKey(location.cid))) !== undefined
            ? await r2.getUrl(ipfsKey(location.cid))
            : gateway
              ? `${gateway}/ipfs/${location.cid}`
              : undefined;
        if (url === undefined) {
          throw new MeridianError(
            422,
            "input_not_found",
            `${input.from} is not stored here and no IPFS gateway is configured`,
          );
        }
        return { ...base, cid: location.cid, url };
      }
      const place = inputObject(env, origin, attempt.accountId, input, secrets);
      if (!place) throw new MeridianError(422, "invalid_input", `unsupported input ${input.from}`);
      return { ...base, url: await place.target.getUrl(place.key) };
    }),
  );
  let checkpoint: StorageGrant["checkpoint"] = null;
  if (spec.checkpoint) {
    const place = checkpointPlaceOf(env, origin, attempt.jobId, spec.checkpoint, secrets);
    const latest = await latestCheckpoint(env, place, attempt.jobId);
    checkpoint = {
      path: spec.checkpoint.path,
      intervalSeconds: spec.checkpoint.intervalSeconds,
      restore: latest
        ? {
            seq: latest.seq,
            files: await Promise.all(
              latest.manifest.files.map(async (file) => ({
                ...file,
                url: await place.target.getUrl(blobKey(place, file.sha256)),
              })),
            ),
          }
        : null,
    };
  }
  return {
    env: secretValues,
    inputs,
    outputs: (spec.outputs ?? []).map((output) => ({ path: output.path, ipfs: output.to === "ipfs" })),
    checkpoint,
    partSizeBytes: partSizeBytes(env),
  };
}
