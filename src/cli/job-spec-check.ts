import type { z } from "zod";
import { JobSpec } from "../shared/job-spec.js";
import { CliError } from "./cli-error.js";

/** The flag that sets each spec field, named in errors so a flag's user knows which one to fix. */
const FLAG_FOR_PATH: Readonly<Record<string, string>> = {
  name: "--name",
  image: "--image",
  command: "-- <command...>",
  env: "--env",
  "resources.gpus": "--gpus",
  "resources.gpuModels": "--gpu-model",
  "resources.minVramGb": "--min-vram-gb",
  "resources.cpus": "--cpus",
  "resources.memoryGb": "--memory-gb",
  region: "--region",
  maxPricePerGpuHour: "--max-price",
  timeoutSeconds: "--timeout",
  maxRetries: "--max-retries",
};

/**
 * Checks a spec with the same schema the server uses, so a mistake is reported before anything is
 * sent, one line per problem. Returns the spec unchanged: the server parses it again itself.
 */
export function checkJobSpec(spec: unknown, source: string): unknown {
  const result = JobSpec.safeParse(spec);
  if (result.success) return spec;
  const lines = result.error.issues.map((issue) => `  ${describeIssue(issue, spec)}`);
  throw new CliError(
    "invalid_spec",
    `invalid job spec (${source}):\n${lines.join("\n")}`,
    result.error.issues,
  );
}

function describeIssue(issue: z.core.$ZodIssue, spec: unknown): string {
  const message = issueMessage(issue, spec);
  if (issue.path.length === 0) return message;
  const path = formatPath(issue.path);
  const field = issue.path.filter((key) => typeof key === "string").join(".");
  const flag = FLAG_FOR_PATH[field];
  return `${path}${flag ? ` (${flag})` : ""}: ${message}`;
}

function issueMessage(issue: z.core.$ZodIssue, spec: unknown): string {
  if (issue.code === "invalid_type" && valueAt(spec, issue.path) === undefined) return "required";
  // A bad record key's reason (e.g. a reserved env name) is nested; zod's own message only says "Invalid key".
  if (issue.code === "invalid_key" && issue.issues.length > 0) {
    return issue.issues.map((inner) => inner.message).join("; ");
  }
  return issue.message;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** `resources.gpuModels[0]`, as a reader of the YAML file would point at it. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`;
    else text += text ? `.${String(key)}` : String(key);
  }
  return text;
}
