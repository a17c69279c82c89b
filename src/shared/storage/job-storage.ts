import { CID } from "multiformats/cid";
import { z } from "zod";
import { MAX_OUTPUT_KEEP_SECONDS, MIN_OUTPUT_KEEP_SECONDS } from "./output-retention.js";
import { isPrivateHost } from "./private-address.js";
import { SecretRef } from "./secrets-api.js";

/** Where a job's data lives: the platform's R2, the user's S3-compatible store, IPFS, or HTTPS. */
export type StorageLocation =
  | { scheme: "r2"; path: string }
  | { scheme: "s3"; bucket: string; key: string }
  | { scheme: "ipfs"; cid: string }
  | { scheme: "https"; url: string };

export const MIN_CHECKPOINT_INTERVAL_SECONDS = 10;
export const DEFAULT_CHECKPOINT_PATH = "/meridian/checkpoint";
/** Folders a container may write to, so outputs and checkpoints come from one of them. */
export const WRITABLE_ROOTS = ["/outputs", "/workspace", "/results", "/meridian"] as const;

const OBJECT_PATH = /^[A-Za-z0-9!_.*'()-][A-Za-z0-9!_.*'()/-]{0,511}$/;

function cleanObjectPath(path: string): boolean {
  return OBJECT_PATH.test(path) && !path.split("/").some((part) => part === "." || part === "..");
}

/** A storage URL's parts, or why it is refused. `https` and S3 endpoints must be public. */
export function parseStorageUrl(text: string): StorageLocation | { error: string } {
  const scheme = /^([a-z0-9]+):\/\//.exec(text)?.[1];
  const rest = text.slice((scheme?.length ?? 0) + 3);
  switch (scheme) {
    case "r2":
      return cleanObjectPath(rest)
        ? { scheme: "r2", path: rest }
        : { error: "an r2:// path of letters, digits and !_.*'()-/ without . or .. parts" };
    case "s3": {
      const slash = rest.indexOf("/");
      const bucket = slash < 0 ? rest : rest.slice(0, slash);
      const key = slash < 0 ? "" : rest.slice(slash + 1);
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) return { error: "an s3://bucket/key URL" };
      if (key !== "" && !cleanObjectPath(key)) return { error: "an s3:// key without . or .. parts" };
      return { scheme: "s3", bucket, key };
    }
    case "ipfs":
      try {
        return { scheme: "ipfs", cid: CID.parse(rest).toString() };
      } catch {
        return { error: "ipfs://<cid> with a valid CID" };
      }
    case "https": {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        return { error: "a valid https:// URL" };
      }
      if (url.username || url.password) return { error: "credentials in a URL; use a secret" };
      if (isPrivateHost(url.hostname)) return { error: `${url.hostname} is a private or local address` };
      return { scheme: "https", url: url.toString() };
    }
    default:
      return {
        error: `unsupported scheme ${scheme ? `"${scheme}://"` : "(none)"}; use r2://, s3://, ipfs:// or https://`,
      };
  }
}

/** An absolute, normalised container path. */
const ContainerPath = z
  .string()
  .max(512)
  .regex(/^\/[A-Za-z0-9._\-/]*$/, "an absolute path of letters, digits, '.', '_', '-' and '/'")
  .refine((path) => !path.split("/").some((part) => part === "." || part === ".."), "no . or .. parts")
  .transform((path) => (path.length > 1 ? path.replace(/\/+$/, "") : path));

const WritablePath = ContainerPath.refine(
  (path) => WRITABLE_ROOTS.some((root) => path === root || path.startsWith(`${root}/`)),
  `a folder the container may write to: under ${WRITABLE_ROOTS.join(", ")}`,
);

/** How to reach a user's S3-compatible store: its endpoint and a secret holding S3Credentials. */
export const S3Access = z
  .object({
    endpoint: z.url({ protocol: /^https?$/ }).max(512),
    region: z
      .string()
      .regex(/^[a-z0-9-]{1,32}$/)
      .default("us-east-1"),
    credentials: SecretRef,
  })
  .strict();
export type S3Access = z.infer<typeof S3Access>;

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "a SHA-256 as 64 lower-case hex digits");

const LocationUrl = (allowed: readonly StorageLocation["scheme"][]) =>
  z
    .string()
    .max(2048)
    .superRefine((text, ctx) => {
      const parsed = parseStorageUrl(text);
      if ("error" in parsed) ctx.addIssue({ code: "custom", message: parsed.error });
      else if (!allowed.includes(parsed.scheme))
        ctx.addIssue({
          code: "custom",
          message: `${parsed.scheme}:// is not supported here (${allowed.join(", ")})`,
        });
    });

/** A file or folder the agent fetches, verifies and mounts read-only before the container starts. */
export const JobInput = z
  .object({
    from: LocationUrl(["r2", "s3", "ipfs", "https"]),
    to: ContainerPath.refine((path) => path !== "/", "not the container's root"),
    sha256: Sha256Hex.optional(),
    s3: S3Access.optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    const scheme = /^([a-z0-9]+):/.exec(input.from)?.[1];
    if (scheme === "s3" && !input.s3)
      ctx.addIssue({
        code: "custom",
        path: ["s3"],
        message: "an s3:// input needs s3: {endpoint, credentials}",
      });
    if (scheme !== "s3" && input.s3)
      ctx.addIssue({ code: "custom", path: ["s3"], message: "s3 settings belong to s3:// inputs" });
  });
export type JobInput = z.output<typeof JobInput>;

/** A folder whose files are uploaded after the container exits. */
export const JobOutput = z
  .object({
    path: WritablePath,
    /** r2://prefix (default: r2://jobs/<job id>/outputs), s3://bucket/prefix, or "ipfs". */
    to: z.union([z.literal("ipfs"), LocationUrl(["r2", "s3"])]).optional(),
    s3: S3Access.optional(),
    /**
     * How long its files are kept (and billed) in the platform's storage from their upload; the
     * deployment's OUTPUT_RETENTION_SECONDS (30 days) when absent. Not for s3:// outputs.
     */
    keepForSeconds: z
      .number()
      .int()
      .min(MIN_OUTPUT_KEEP_SECONDS, `keepForSeconds is at least ${MIN_OUTPUT_KEEP_SECONDS} (an hour)`)
      .max(MAX_OUTPUT_KEEP_SECONDS, `keepForSeconds is at most ${MAX_OUTPUT_KEEP_SECONDS} (366 days)`)
      .optional(),
  })
  .strict()
  .superRefine((output, ctx) => {
    const isS3 = output.to?.startsWith("s3://") === true;
    if (isS3 && output.keepForSeconds !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["keepForSeconds"],
        message:
          "an s3:// output stays in your bucket as long as you keep it; keepForSeconds is for r2:// and ipfs outputs",
      });
    if (isS3 && !output.s3)
      ctx.addIssue({
        code: "custom",
        path: ["s3"],
        message: "an s3:// output needs s3: {endpoint, credentials}",
      });
    if (!isS3 && output.s3)
      ctx.addIssue({ code: "custom", path: ["s3"], message: "s3 settings belong to s3:// outputs" });
  });
export type JobOutput = z.output<typeof JobOutput>;

/**
 * The folder synced every interval and at exit, and restored when the job is placed again. Kept in
 * the platform's R2 unless `to` names the user's own S3-compatible bucket (and prefix).
 */
export const JobCheckpoint = z
  .object({
    path: WritablePath.default(DEFAULT_CHECKPOINT_PATH),
    intervalSeconds: z
      .number()
      .int()
      .min(MIN_CHECKPOINT_INTERVAL_SECONDS, `intervalSeconds is at least ${MIN_CHECKPOINT_INTERVAL_SECONDS}`)
      .max(24 * 3600)
      .default(300),
    /** s3://bucket/prefix: the job's checkpoints go under <prefix>/<job id>/. */
    to: LocationUrl(["s3"]).optional(),
    s3: S3Access.optional(),
  })
  .strict()
  .superRefine((checkpoint, ctx) => {
    if (checkpoint.to && !checkpoint.s3)
      ctx.addIssue({
        code: "custom",
        path: ["s3"],
        message: "an s3:// checkpoint needs s3: {endpoint, region?, credentials}",
      });
    if (!checkpoint.to && checkpoint.s3)
      ctx.addIssue({
        code: "custom",
        path: ["s3"],
        message: "s3 settings belong to an s3:// checkpoint `to`",
      });
  });
export type JobCheckpoint = z.output<typeof JobCheckpoint>;

/** The storage parts of a job spec, checked against each other (paths must not overlap). */
export function storageIssues(spec: {
  inputs?: JobInput[] | undefined;
  outputs?: JobOutput[] | undefined;
  checkpoint?: JobCheckpoint | undefined;
}): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const taken: { path: string; where: (string | number)[] }[] = [];
  const claim = (path: string, where: (string | number)[]): void => {
    const clash = taken.find(
      (other) =>
        other.path === path || path.startsWith(`${other.path}/`) || other.path.startsWith(`${path}/`),
    );
    if (clash)
      issues.push({ path: where, message: `${path} overlaps ${clash.path} (${clash.where.join(".")})` });
    taken.push({ path, where });
  };
  for (const [i, input] of (spec.inputs ?? []).entries()) claim(input.to, ["inputs", i, "to"]);
  for (const [i, output] of (spec.outputs ?? []).entries()) claim(output.path, ["outputs", i, "path"]);
  if (spec.checkpoint) claim(spec.checkpoint.path, ["checkpoint", "path"]);
  return issues;
}
