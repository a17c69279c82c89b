import { join } from "node:path";
import { parseArgs } from "node:util";
import { startAgent } from "./agent.js";
import type { ConfigOverrides } from "./agent-config.js";
import { consoleLog, errorMessage } from "./agent-log.js";
import { doctorCommand, initCommand, statusCommand } from "./commands/provider-commands.js";
import { shouldWatchParent, watchParent } from "./parent-watch.js";

const USAGE = `usage: meridian-agent [start|init|doctor|status] [options]

  start (default)   run the agent: register, take work, answer verification challenges
  init              create the node key and config, check the hardware, run doctor
  doctor            name each problem with this host (driver, Docker, GPU in containers, clock) and its fix
  status            registration, verification, reputation, current jobs and earnings

options (saved in <data-dir>/config.json on first use; the file's other keys are the host policy):
  --control-plane   the Meridian control plane, e.g. http://localhost:8787
  --data-dir        where the node key and config live (default: $MERIDIAN_AGENT_DATA_DIR or .meridian/agent)
  --region          the region to join (default: the control plane picks)
  --price           asking price per GPU-hour in USD (default 1.50), or "auto" (set priceFloorPerGpuHour)
  --cpu-price       asking price per vCPU-hour of CPU-only work in USD, at most 1.00, or "auto" (set priceFloorPerVcpuHour) (default: the network's CPU table)
  --label           a node label key=value, repeatable
  --runtime         docker (default) or host: jobs as plain host processes, NO isolation (trusted hosts only)
  --docker-socket   the Docker engine's socket (default: $DOCKER_HOST or /var/run/docker.sock)
  --owner-key       your Meridian API key: your account owns this node and is paid its earnings
                    (default: $MERIDIAN_OWNER_API_KEY; saved in the config file, mode 0600)`;

const COMMANDS = ["start", "init", "doctor", "status"] as const;
type Command = (typeof COMMANDS)[number];

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      "control-plane": { type: "string" },
      "data-dir": { type: "string" },
      region: { type: "string" },
      price: { type: "string" },
      "cpu-price": { type: "string" },
      label: { type: "string", multiple: true },
      runtime: { type: "string" },
      "docker-socket": { type: "string" },
      "owner-key": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [first, ...rest] = positionals;
  const command: Command | undefined =
    first === undefined ? "start" : COMMANDS.find((name) => name === first);
  if (command === undefined || rest.length > 0) {
    console.error(`unknown command: ${positionals.join(" ")}\n\n${USAGE}`);
    return 2;
  }
  const runtime = values.runtime;
  if (runtime !== undefined && runtime !== "docker" && runtime !== "host") {
    console.error(`--runtime ${runtime}: expected docker or host`);
    return 2;
  }
  const dataDir =
    values["data-dir"] ?? process.env.MERIDIAN_AGENT_DATA_DIR ?? join(process.cwd(), ".meridian", "agent");
  const overrides: ConfigOverrides = {
    controlPlane: values["control-plane"],
    region: values.region,
    pricePerGpuHour: values.price,
    pricePerVcpuHour: values["cpu-price"],
    labels: values.label === undefined ? undefined : parseLabels(values.label),
    dockerSocket: values["docker-socket"],
    ownerApiKey: values["owner-key"] ?? process.env.MERIDIAN_OWNER_API_KEY,
    runtime,
  };
  const print = (text: string): void => console.log(text);
  if (command === "init") return (await initCommand({ dataDir, overrides, print })) ? 0 : 1;
  if (command === "doctor") return (await doctorCommand({ dataDir, overrides, print })) ? 0 : 1;
  if (command === "status") {
    await statusCommand({ dataDir, overrides, print });
    return 0;
  }
  return start(dataDir, overrides);
}

async function start(dataDir: string, overrides: ConfigOverrides): Promise<number> {
  // Whoever read our output may go away (a closed terminal, a killed `npm start`); writes to its
  // pipe then fail with EPIPE, which must not crash the agent in the middle of its drain.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});

  const agent = await startAgent({
    dataDir,
    controlPlane: overrides.controlPlane,
    region: overrides.region,
    pricePerGpuHour: overrides.pricePerGpuHour,
    pricePerVcpuHour: overrides.pricePerVcpuHour,
    labels: overrides.labels,
    dockerSocket: overrides.dockerSocket,
    ownerApiKey: overrides.ownerApiKey,
    runtimeKind: overrides.runtime,
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
  // A closed terminal: drain as for Ctrl-C rather than die with the containers still running.
  process.on("SIGHUP", shutdown);
  if (shouldWatchParent()) {
    // Started by `npm start` or an npm script: if that dies, nothing else would ever stop us.
    watchParent((parent) => {
      consoleLog.warn(`the process that started this agent (pid ${parent}) is gone`);
      shutdown("SIGTERM");
    });
  }
  await agent.done;
  return 0;
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

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    consoleLog.error(errorMessage(error));
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      console.error(USAGE);
    }
    process.exit(1);
  },
);
