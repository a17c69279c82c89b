import type { SecretRef } from "./secrets-api.js";

type SpecEnv = Record<string, string | SecretRef>;

/** The variables a spec gives in clear: what the Region object may put in an assignment. */
export function plainEnv(env: SpecEnv): Record<string, string> {
  const plain: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === "string") plain[name] = value;
  return plain;
}

/** The variables a spec takes from secrets, by variable name. */
export function secretEnv(env: SpecEnv): Record<string, string> {
  const refs: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value !== "string") refs[name] = value.secret;
  return refs;
}

/** Every secret a spec names: its env values and its S3 stores' credentials. */
export function secretNamesOf(spec: {
  env: SpecEnv;
  inputs?: readonly { s3?: { credentials: SecretRef } | undefined }[] | undefined;
  outputs?: readonly { s3?: { credentials: SecretRef } | undefined }[] | undefined;
  checkpoint?: { s3?: { credentials: SecretRef } | undefined } | undefined;
}): string[] {
  const names = new Set(Object.values(secretEnv(spec.env)));
  for (const item of [...(spec.inputs ?? []), ...(spec.outputs ?? []), spec.checkpoint ?? {}])
    if (item.s3) names.add(item.s3.credentials.secret);
  return [...names].sort();
}

/** Whether an attempt of this job needs its storage grant before the container starts. */
export function usesStorage(spec: {
  env: SpecEnv;
  inputs?: readonly unknown[] | undefined;
  outputs?: readonly unknown[] | undefined;
  checkpoint?: unknown;
}): boolean {
  return (
    Object.keys(secretEnv(spec.env)).length > 0 ||
    (spec.inputs?.length ?? 0) > 0 ||
    (spec.outputs?.length ?? 0) > 0 ||
    spec.checkpoint !== undefined
  );
}
