import { JobStatus } from "../../shared/job-status.js";
import { renderTemplate, TemplateError } from "../../shared/templates/job-template.js";
import { UsageError } from "../cli-error.js";
import type { Command, CommandContext } from "../command.js";
import { printResult } from "../command.js";
import { renderJob, renderJobEvents, renderJobList } from "../job-render.js";
import { checkJobSpec } from "../job-spec-check.js";
import { readJobSpecFile } from "../job-spec-file.js";
import { buildJobSpec } from "../job-spec-flags.js";
import { formatKeyValues } from "../table.js";

const submit: Command = {
  words: ["jobs", "submit"],
  summary: "submit a job from a spec file or flags",
  usage: `Usage: meridian jobs submit [spec.yaml|spec.json] [flags] [-- <command...>]

Submits a job. A spec file (YAML or JSON) gives the whole spec; flags set or override fields, and
a command after -- replaces the spec's command. The spec is checked here before it is sent.

Flags:
  --name <name>            job name
  --image <ref>            container image, e.g. meridian/busybox:test
  --gpus <n>               GPUs on one node (default 0)
  --gpu-model <id>         acceptable GPU model; repeat for several (e.g. H100-SXM)
  --min-vram-gb <n>        least VRAM per GPU
  --cpus <n>               CPU cores (default 1)
  --memory-gb <n>          memory in GB (default 1)
  --region <id>            region, e.g. eu-west
  --max-price <usd>        most to pay per GPU-hour, e.g. 2.10
  --timeout <seconds>      wall-clock limit (default 3600)
  --max-retries <n>        placements after a lost node (default 2)
  --env NAME=VALUE         environment variable; repeatable
  --template <id>          start from a template (GET /v1/templates), e.g. pytorch-train
  --set NAME=VALUE         a template parameter; repeatable

Examples:
  meridian jobs submit --name hello --image meridian/busybox:test -- sh -c 'echo hello'
  meridian jobs submit --template pytorch-train --set epochs=3
`,
  options: [
    "name",
    "image",
    "gpus",
    "gpu-model",
    "min-vram-gb",
    "cpus",
    "memory-gb",
    "region",
    "max-price",
    "timeout",
    "max-retries",
    "env",
    "template",
    "set",
  ],
  arity: [0, 1],
  takesRest: true,
  async run(context) {
    const file = context.args[0];
    const templateId = context.values.template;
    if (file !== undefined && templateId !== undefined)
      throw new UsageError("give a spec file or --template, not both");
    if (templateId === undefined && context.values.set?.length)
      throw new UsageError("--set gives a template's parameters; add --template <id>");
    const base =
      templateId !== undefined
        ? await templateSpec(context, templateId, context.values.set ?? [])
        : file === undefined
          ? {}
          : await readJobSpecFile(file);
    const spec = buildJobSpec(base, context.values, context.rest);
    const source = templateId !== undefined ? `template ${templateId}` : (file ?? "command line");
    const { data, raw } = await context.client.submitJob(checkJobSpec(spec, source));
    printResult(
      context,
      raw,
      () => `${renderJob(data)}\nfollow its logs: meridian jobs logs ${data.id} -f\n`,
    );
  },
};

/** The spec a template gives with `--set NAME=VALUE` values over its defaults. */
async function templateSpec(
  context: CommandContext,
  id: string,
  pairs: readonly string[],
): Promise<Record<string, unknown>> {
  const values: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--set takes NAME=VALUE, got "${pair}"`);
    values[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const { data } = await context.client.getTemplate(id);
  try {
    return renderTemplate(data, values);
  } catch (error) {
    if (error instanceof TemplateError) throw new UsageError(error.message);
    throw error;
  }
}

const list: Command = {
  words: ["jobs", "list"],
  summary: "list your jobs, newest first",
  usage: `Usage: meridian jobs list [--status <status>] [--limit <n>] [--cursor <cursor>]

Statuses: ${JobStatus.options.join(", ")}
`,
  options: ["status", "limit", "cursor"],
  arity: [0, 0],
  async run(context) {
    const status = parseStatus(context.values.status);
    const limit = parseLimit(context.values.limit);
    const { data, raw } = await context.client.listJobs({ status, limit, cursor: context.values.cursor });
    printResult(context, raw, () => renderJobList(data));
  },
};

const get: Command = {
  words: ["jobs", "get"],
  summary: "show one job",
  usage: "Usage: meridian jobs get <job-id>\n",
  options: [],
  arity: [1, 1],
  async run(context) {
    const { data, raw } = await context.client.getJob(jobId(context));
    printResult(context, raw, () => renderJob(data));
  },
};

const logs: Command = {
  words: ["jobs", "logs"],
  summary: "print a job's logs; -f follows them until the job ends",
  usage: `Usage: meridian jobs logs <job-id> [-f|--follow]

Prints the job's output as plain text (--json does not apply). With -f, keeps printing as the
job writes, until it ends.
`,
  options: ["follow"],
  arity: [1, 1],
  async run(context) {
    for await (const chunk of context.client.jobLogs(jobId(context), context.values.follow === true)) {
      context.io.stdout(chunk);
    }
  },
};

const cancel: Command = {
  words: ["jobs", "cancel"],
  summary: "cancel a job",
  usage: "Usage: meridian jobs cancel <job-id>\n",
  options: [],
  arity: [1, 1],
  async run(context) {
    const { data, raw } = await context.client.cancelJob(jobId(context));
    printResult(context, raw, () =>
      formatKeyValues([
        ["id", data.id],
        ["status", data.status],
      ]),
    );
  },
};

const events: Command = {
  words: ["jobs", "events"],
  summary: "show a job's status history",
  usage: "Usage: meridian jobs events <job-id>\n",
  options: [],
  arity: [1, 1],
  async run(context) {
    const { data, raw } = await context.client.jobEvents(jobId(context));
    printResult(context, raw, () => renderJobEvents(data.events));
  },
};

export const jobCommands: readonly Command[] = [submit, list, get, logs, cancel, events];

function jobId(context: CommandContext): string {
  const id = context.args[0];
  if (id === undefined) throw new UsageError("missing <job-id>");
  return id;
}

function parseStatus(text: string | undefined): JobStatus | undefined {
  if (text === undefined) return undefined;
  const status = JobStatus.safeParse(text);
  if (!status.success) throw new UsageError(`--status must be one of ${JobStatus.options.join(", ")}`);
  return status.data;
}

function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new UsageError("--limit must be 1 to 200");
  return limit;
}
