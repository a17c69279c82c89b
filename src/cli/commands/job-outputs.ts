import { UsageError } from "../cli-error.js";
import type { Command } from "../command.js";
import { printResult } from "../command.js";
import { formatTable } from "../table.js";

const outputs: Command = {
  words: ["jobs", "outputs"],
  summary: "list a job's output files, their hashes and when they expire",
  usage: `Usage: meridian jobs outputs <job-id> [--json]

Lists each file the job's attempts uploaded: its size, SHA-256, where it is and when it expires.
Files kept in the platform's storage stay for their output's keepForSeconds (default: the
deployment's OUTPUT_RETENTION_SECONDS, 30 days) from their upload, billed per GB-month, then are
deleted; files in your own S3 bucket stay there ("kept by you"). --json adds the download links.
`,
  options: [],
  arity: [1, 1],
  async run(context) {
    const id = context.args[0];
    if (id === undefined) throw new UsageError("missing <job-id>");
    const { data, raw } = await context.client.jobOutputs(id);
    printResult(context, raw, () =>
      formatTable(
        ["PATH", "SIZE", "SHA256", "LOCATION", "EXPIRES"],
        data.outputs.map((o) => [
          o.path,
          String(o.size),
          o.sha256.slice(0, 12),
          o.location,
          o.expiresAt === null ? "kept by you" : o.expiresAt.replace(/\.\d{3}Z$/, "Z"),
        ]),
      ),
    );
  },
};

const deleteOutputs: Command = {
  words: ["jobs", "delete-outputs"],
  summary: "delete a job's output files now, stopping their billing",
  usage: `Usage: meridian jobs delete-outputs <job-id> [--path <file>] [--json]

Deletes every output file of the job now, or with --path the one "meridian jobs outputs" lists
at that path. The time each was kept in the platform's storage is charged now and billing stops.
Files in your own S3 bucket are deleted there too, with the credentials secret the output named
(if that secret is gone, nothing is deleted: create it again). Deleting files already gone is
no error.
`,
  options: ["path"],
  arity: [1, 1],
  async run(context) {
    const id = context.args[0];
    if (id === undefined) throw new UsageError("missing <job-id>");
    const path = context.values.path;
    const { data, raw } = await context.client.deleteJobOutputs(id, typeof path === "string" ? { path } : {});
    printResult(
      context,
      raw,
      () =>
        `deleted: ${data.files} files, ${data.bytes} bytes\ncharged: ${data.chargedMicros} µUSD\n` +
        (data.deletedInYourBucket > 0 ? `deleted in your bucket: ${data.deletedInYourBucket}\n` : "") +
        (data.keptInYourBucket > 0
          ? `left in your bucket (another output names it): ${data.keptInYourBucket}\n`
          : ""),
    );
  },
};

export const jobOutputCommands: readonly Command[] = [outputs, deleteOutputs];
