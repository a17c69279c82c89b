import { UsageError } from "./cli-error.js";
import { isPlainObject } from "./job-spec-file.js";

/** The `jobs submit` flags, as parseArgs hands them over. */
export interface JobSpecFlags {
  readonly name?: string | undefined;
  readonly image?: string | undefined;
  readonly gpus?: string | undefined;
  readonly "gpu-model"?: readonly string[] | undefined;
  readonly "min-vram-gb"?: string | undefined;
  readonly cpus?: string | undefined;
  readonly "memory-gb"?: string | undefined;
  readonly region?: string | undefined;
  readonly "max-price"?: string | undefined;
  readonly timeout?: string | undefined;
  readonly "max-retries"?: string | undefined;
  readonly env?: readonly string[] | undefined;
}

/**
 * Lays the flags over a base spec (a spec file's content, or nothing): a flag replaces its field,
 * `--env` adds to the file's variables, and a command after `--` replaces the file's command.
 * The result is checked by `checkJobSpec`, not here.
 */
export function buildJobSpec(
  base: Readonly<Record<string, unknown>>,
  flags: JobSpecFlags,
  command: readonly string[],
): Record<string, unknown> {
  const spec: Record<string, unknown> = { ...base };
  setIfGiven(spec, "name", flags.name);
  setIfGiven(spec, "image", flags.image);
  setIfGiven(spec, "region", flags.region);
  // Kept as text: the schema reads "2.10" exactly, where a float might not be.
  setIfGiven(spec, "maxPricePerGpuHour", flags["max-price"]);
  setIfGiven(spec, "timeoutSeconds", numberFlag("--timeout", flags.timeout));
  setIfGiven(spec, "maxRetries", numberFlag("--max-retries", flags["max-retries"]));
  if (command.length > 0) spec.command = [...command];

  const resources: Record<string, unknown> = isPlainObject(base.resources) ? { ...base.resources } : {};
  setIfGiven(resources, "gpus", numberFlag("--gpus", flags.gpus));
  setIfGiven(resources, "gpuModels", flags["gpu-model"]?.length ? [...flags["gpu-model"]] : undefined);
  setIfGiven(resources, "minVramGb", numberFlag("--min-vram-gb", flags["min-vram-gb"]));
  setIfGiven(resources, "cpus", numberFlag("--cpus", flags.cpus));
  setIfGiven(resources, "memoryGb", numberFlag("--memory-gb", flags["memory-gb"]));
  if (Object.keys(resources).length > 0 || base.resources !== undefined) spec.resources = resources;

  if (flags.env?.length) {
    const env: Record<string, unknown> = isPlainObject(base.env) ? { ...base.env } : {};
    for (const pair of flags.env) {
      const [key, value] = splitEnv(pair);
      env[key] = value;
    }
    spec.env = env;
  }
  return spec;
}

function setIfGiven(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value;
}

function numberFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value))
    throw new UsageError(`${flag} must be a number, got "${text}"`);
  return value;
}

function splitEnv(pair: string): [string, string] {
  const at = pair.indexOf("=");
  if (at <= 0) throw new UsageError(`--env takes NAME=VALUE, got "${pair}"`);
  return [pair.slice(0, at), pair.slice(at + 1)];
}
