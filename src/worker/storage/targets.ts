import { MeridianError } from "../../shared/errors.js";
import type { JobSpec } from "../../shared/job-spec.js";
import {
  type JobInput,
  type JobOutput,
  parseStorageUrl,
  type S3Access,
} from "../../shared/storage/job-storage.js";
import { S3Credentials } from "../../shared/storage/secrets-api.js";
import type { ObjectTarget, StoredObject } from "./object-target.js";
import { R2Target } from "./r2-target.js";
import { checkEndpoint, S3Target } from "./s3-target.js";

/** R2 keys of one account's r2:// paths: an account reads and writes only under its own prefix. */
export function accountKey(accountId: string, path: string): string {
  return `accounts/${accountId}/${path}`;
}

/** The store and the key prefix of one of a job's outputs, given where its files go. */
export interface OutputPlace {
  target: ObjectTarget;
  prefix: string;
  ipfs: boolean;
}

export function s3Target(env: Env, access: S3Access, bucket: string, secrets: Map<string, string>): S3Target {
  const name = access.credentials.secret;
  const raw = secrets.get(name);
  let parsed: ReturnType<typeof S3Credentials.safeParse> | undefined;
  try {
    parsed = raw === undefined ? undefined : S3Credentials.safeParse(JSON.parse(raw));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) {
    throw new MeridianError(
      422,
      "bad_credentials_secret",
      `secret ${name} must hold JSON {"accessKeyId","secretAccessKey"} for an S3 store`,
    );
  }
  return new S3Target(
    env,
    { endpoint: access.endpoint, region: access.region, bucket, credentialsSecret: name },
    parsed.data,
  );
}

/** Where an r2:// or s3:// input is; ipfs:// and https:// inputs need no store. */
export function inputObject(
  env: Env,
  origin: string,
  accountId: string,
  input: JobInput,
  secrets: Map<string, string>,
): { target: ObjectTarget; key: string } | undefined {
  const location = parseStorageUrl(input.from);
  if ("error" in location) throw new MeridianError(422, "invalid_input", location.error);
  if (location.scheme === "r2")
    return { target: new R2Target(env, origin), key: accountKey(accountId, location.path) };
  if (location.scheme === "s3" && input.s3)
    return { target: s3Target(env, input.s3, location.bucket, secrets), key: location.key };
  return undefined;
}

export function outputPlace(
  env: Env,
  origin: string,
  accountId: string,
  jobId: string,
  output: JobOutput,
  secrets: Map<string, string>,
): OutputPlace {
  const r2 = new R2Target(env, origin);
  if (output.to === undefined)
    return { target: r2, prefix: accountKey(accountId, `jobs/${jobId}${output.path}`), ipfs: false };
  if (output.to === "ipfs") return { target: r2, prefix: "ipfs", ipfs: true };
  const location = parseStorageUrl(output.to);
  if ("error" in location) throw new MeridianError(422, "invalid_output", location.error);
  if (location.scheme === "r2")
    return { target: r2, prefix: accountKey(accountId, location.path.replace(/\/+$/, "")), ipfs: false };
  if (location.scheme === "s3" && output.s3)
    return {
      target: s3Target(env, output.s3, location.bucket, secrets),
      prefix: location.key.replace(/\/+$/, ""),
      ipfs: false,
    };
  throw new MeridianError(422, "invalid_output", "outputs go to r2://, s3:// or ipfs");
}

/** A store to make a download link from a recorded object. */
export function targetOfStored(
  env: Env,
  origin: string,
  stored: StoredObject,
  secrets: Map<string, string>,
): ObjectTarget {
  if (stored.kind === "r2") return new R2Target(env, origin);
  return s3Target(
    env,
    { endpoint: stored.endpoint, region: stored.region, credentials: { secret: stored.credentials } },
    stored.bucket,
    secrets,
  );
}

/** Submit-time checks the schema cannot make: S3 endpoints must be public (or allowed here). */
export function checkStorageEndpoints(env: Env, spec: JobSpec): void {
  const stores = [
    ...(spec.inputs ?? []),
    ...(spec.outputs ?? []),
    ...(spec.checkpoint ? [spec.checkpoint] : []),
  ];
  for (const item of stores) if (item.s3) checkEndpoint(env, item.s3.endpoint);
}

export function joinKey(prefix: string, path: string): string {
  return prefix === "" ? path : `${prefix}/${path}`;
}
