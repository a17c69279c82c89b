import { UsageError } from "../cli-error.js";
import type { Command, CommandContext } from "../command.js";
import { printResult } from "../command.js";
import { formatKeyValues } from "../table.js";

function jobId(context: CommandContext): string {
  const id = context.args[0];
  if (id === undefined) throw new UsageError("missing <job-id>");
  return id;
}

/** `--keep 3d`, `--keep 12h`, `--keep 90m` or plain seconds. */
export function parseKeep(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) throw new UsageError("--keep takes a duration: seconds, or a number with s, m, h or d (3d)");
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] ?? ""] ?? 1;
  return Number(match[1]) * unit;
}

const pause: Command = {
  words: ["jobs", "pause"],
  summary: "pause a running job, keeping its checkpoint",
  usage: `Usage: meridian jobs pause <job-id> [--keep <duration>]

Sends the job's containers SIGTERM; they have the grace period to write their checkpoint, which is
synced, then the GPUs are released and GPU billing stops (status paused). The kept checkpoint is
billed per GB-month until you resume or cancel the job. The job needs a checkpoint folder.

Flags:
  --keep <duration>   keep it paused at most this long (e.g. 3d, 12h; default: the deployment's),
                      after which it ends as cancelled
`,
  options: ["keep"],
  arity: [1, 1],
  async run(context) {
    const keep = parseKeep(typeof context.values.keep === "string" ? context.values.keep : undefined);
    const { data, raw } = await context.client.pauseJob(
      jobId(context),
      keep === undefined ? {} : { keepForSeconds: keep },
    );
    printResult(context, raw, () =>
      formatKeyValues([
        ["id", data.id],
        ["status", data.status],
        ["reason", data.reason ?? ""],
      ]),
    );
  },
};

const resume: Command = {
  words: ["jobs", "resume"],
  summary: "resume a paused job on any node that fits",
  usage: `Usage: meridian jobs resume <job-id>

Queues a paused job again. Any node that fits may take it (not only the one it ran on); it restores
its latest checkpoint before its container starts, with MERIDIAN_RESUMED=1.
`,
  options: [],
  arity: [1, 1],
  async run(context) {
    const { data, raw } = await context.client.resumeJob(jobId(context));
    printResult(context, raw, () =>
      formatKeyValues([
        ["id", data.id],
        ["status", data.status],
        ["reason", data.reason ?? ""],
      ]),
    );
  },
};

export const jobPauseCommands: readonly Command[] = [pause, resume];
