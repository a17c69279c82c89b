import { join } from "node:path";
import { parseArgs } from "node:util";
import { startAgent } from "./agent.js";
import { consoleLog, errorMessage } from "./agent-log.js";

const USAGE = `usage: meridian-agent --control-plane <url> [--data-dir <dir>] [--region <region>] [--price <usd>]
                      [--label key=value ...] [--docker-socket <path>] [--owner-key <api key>]

  --control-plane   the Meridian control plane, e.g. http://localhost:8787 (saved after the first start)
  --data-dir        where the node key and config live (default: $MERIDIAN_AGENT_DATA_DIR or .meridian/agent)
  --region          the region to join (default: the control plane picks)
  --price           asking price per GPU-hour in USD (default 1.50)
  --label           a node label, repeatable
  --docker-socket   the Docker engine's socket (default: $DOCKER_HOST or /var/run/docker.sock)
  --owner-key       your Meridian API key: your account owns this node and is paid its earnings
                    (default: $MERIDIAN_OWNER_API_KEY; saved in the config file, mode 0600)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "control-plane": { type: "string" },
      "data-dir": { type: "string" },
      region: { type: "string" },
      price: { type: "string" },
      label: { type: "string", multiple: true },
      "docker-socket": { type: "string" },
      "owner-key": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const labels = values.label === undefined ? undefined : parseLabels(values.label);
  const agent = await startAgent({
    dataDir:
      values["data-dir"] ?? process.env.MERIDIAN_AGENT_DATA_DIR ?? join(process.cwd(), ".meridian", "agent"),
    controlPlane: values["control-plane"],
    region: values.region,
    pricePerGpuHour: values.price,
    labels,
    dockerSocket: values["docker-socket"],
    ownerApiKey: values["owner-key"] ?? process.env.MERIDIAN_OWNER_API_KEY,
  });

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      // A second Ctrl-C means "now": containers may be left running; the next start removes them.
      consoleLog.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    consoleLog.info(`${signal}: finishing up (press Ctrl-C again to exit at once)`);
    agent.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        consoleLog.error(errorMessage(error));
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  await agent.done;
}

function parseLabels(pairs: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`--label ${pair}: expected key=value`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

main().catch((error: unknown) => {
  consoleLog.error(errorMessage(error));
  if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
    console.error(USAGE);
  }
  process.exit(1);
});
