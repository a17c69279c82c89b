import { EndpointSpec } from "../../shared/endpoints/endpoint-spec.js";
import { CliError, UsageError } from "../cli-error.js";
import type { Command, CommandContext } from "../command.js";
import { printResult } from "../command.js";
import { formatPath } from "../job-spec-check.js";
import { readJobSpecFile } from "../job-spec-file.js";
import {
  renderEndpoint,
  renderEndpointEvents,
  renderEndpointList,
  renderEndpointMetrics,
} from "./endpoints-render.js";

const ENDPOINT_ID = /^ep_[0-9a-z]{26}$/;

/** An endpoint named by its id or its name (the `model` callers use), as its id. */
async function endpointId(context: CommandContext, ref: string): Promise<string> {
  if (ENDPOINT_ID.test(ref)) return ref;
  const { data } = await context.client.endpoints.list();
  const found = data.endpoints.find((e) => e.name === ref);
  if (!found)
    throw new CliError("endpoint_not_found", `no endpoint named "${ref}" (see meridian endpoints list)`);
  return found.id;
}

/** Checks the spec with the server's own schema first, one line per problem, before anything is sent. */
function checkSpec(spec: Record<string, unknown>, source: string): void {
  const result = EndpointSpec.safeParse(spec);
  if (result.success) return;
  const lines = result.error.issues.map(
    (issue) => `  ${issue.path.length > 0 ? `${formatPath(issue.path)}: ` : ""}${issue.message}`,
  );
  throw new CliError("invalid_endpoint", `invalid endpoint spec (${source}):\n${lines.join("\n")}`);
}

function count(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} takes a whole number, got "${text}"`);
  return Number(text);
}

const create: Command = {
  words: ["endpoints", "create"],
  summary: "create an inference endpoint from a spec file",
  usage: `Usage: meridian endpoints create <spec.yaml|spec.json>

Creates an endpoint: a container serving HTTP on its port, replicated, autoscaled (to zero when
replicas.min is 0) and called through the OpenAI-compatible API with its name as the model.
See examples/endpoint.yaml for every field.
`,
  options: [],
  arity: [1, 1],
  async run(context) {
    const [file = ""] = context.args;
    const spec = await readJobSpecFile(file);
    checkSpec(spec, file);
    const { data, raw } = await context.client.endpoints.create(spec);
    printResult(context, raw, () => `${renderEndpoint(data)}\ncall it: meridian chat ${data.name} "hello"\n`);
  },
};

const list: Command = {
  words: ["endpoints", "list"],
  summary: "list your inference endpoints",
  usage: "Usage: meridian endpoints list\n",
  options: [],
  arity: [0, 0],
  async run(context) {
    const { data, raw } = await context.client.endpoints.list();
    printResult(context, raw, () => renderEndpointList(data.endpoints));
  },
};

const get: Command = {
  words: ["endpoints", "get"],
  summary: "an endpoint and its replicas",
  usage: "Usage: meridian endpoints get <endpoint>\n\n<endpoint> is its name or its id (ep_…).\n",
  options: [],
  arity: [1, 1],
  async run(context) {
    const id = await endpointId(context, context.args[0] ?? "");
    const { data, raw } = await context.client.endpoints.get(id);
    if (context.values.json) {
      printResult(context, raw, () => "");
      return;
    }
    const replicas = await context.client.endpoints.replicas(id);
    context.io.stdout(renderEndpoint(data, replicas.data.replicas));
  },
};

const scale: Command = {
  words: ["endpoints", "scale"],
  summary: "set an endpoint's least and most replicas",
  usage: `Usage: meridian endpoints scale <endpoint> [--min <n>] [--max <n>]

--min 0 lets it scale to zero when idle; the autoscaler keeps the count between the two.
`,
  options: ["min", "max"],
  arity: [1, 1],
  async run(context) {
    const min = count("min", context.values.min);
    const max = count("max", context.values.max);
    if (min === undefined && max === undefined) throw new UsageError("give --min, --max or both");
    const id = await endpointId(context, context.args[0] ?? "");
    const current = (await context.client.endpoints.get(id)).data.spec.replicas as
      | { min?: number; max?: number }
      | undefined;
    const replicas = { min: min ?? current?.min ?? 0, max: max ?? current?.max ?? 1 };
    const { data, raw } = await context.client.endpoints.update(id, { replicas });
    printResult(context, raw, () => renderEndpoint(data));
  },
};

const remove: Command = {
  words: ["endpoints", "delete"],
  summary: "delete an endpoint (its replicas stop)",
  usage: "Usage: meridian endpoints delete <endpoint>\n",
  options: [],
  arity: [1, 1],
  async run(context) {
    const id = await endpointId(context, context.args[0] ?? "");
    const { data, raw } = await context.client.endpoints.remove(id);
    printResult(context, raw, () => `deleted ${data.name} (${data.id})\n`);
  },
};

const events: Command = {
  words: ["endpoints", "events"],
  summary: "an endpoint's scale decisions, replica starts and health failures",
  usage: "Usage: meridian endpoints events <endpoint>\n",
  options: [],
  arity: [1, 1],
  async run(context) {
    const id = await endpointId(context, context.args[0] ?? "");
    const { data, raw } = await context.client.endpoints.events(id);
    printResult(context, raw, () => renderEndpointEvents(data.events));
  },
};

const metrics: Command = {
  words: ["endpoints", "metrics"],
  summary: "an endpoint's requests, latency, cold starts, replica-seconds and tokens",
  usage: "Usage: meridian endpoints metrics <endpoint>\n",
  options: [],
  arity: [1, 1],
  async run(context) {
    const id = await endpointId(context, context.args[0] ?? "");
    const { data, raw } = await context.client.endpoints.metrics(id);
    printResult(context, raw, () => renderEndpointMetrics(data));
  },
};

export const endpointCommands: readonly Command[] = [create, list, get, scale, remove, events, metrics];
