import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { NodeId } from "../shared/agent-protocol.js";
import { VcpuHourPrice } from "../shared/cpu-pricing.js";
import { parseUsd } from "../shared/money.js";
import { NodeLocation } from "../shared/node-location.js";
import { RegionId } from "../shared/regions.js";
import { RunnerMode } from "../shared/verification/messages.js";
import { GpuShareConfig, ResourceLimitsConfig } from "./policy/hardware-share.js";
import { ImageRulesConfig } from "./policy/image-policy.js";
import { IsolationConfig } from "./policy/isolation-policy.js";
import { OperatingWindowConfig, TimeZoneName } from "./policy/operating-window.js";

export const CONFIG_FILE = "config.json";

const UsdText = z.string().refine((text) => parseUsd(text) !== undefined, 'a USD amount like "1.50"');

/** A price per vCPU-hour: a USD amount up to "1.00" (VcpuHourPrice, as the control plane checks it). */
const VcpuHourText = z
  .string()
  .refine((text) => VcpuHourPrice.safeParse(text).success, 'a USD amount up to "1.00", like "0.012"');

/**
 * `<dataDir>/config.json`. Strict: a misspelt key is an error, not a silently ignored setting.
 * The host policy keys (gpus, limits, windows, images, pricing, wallet) are optional, so a file
 * written by an older agent still loads and means "share everything, always".
 */
export const AgentConfig = z
  .object({
    controlPlane: z.url({ protocol: /^https?$/ }),
    region: RegionId.optional(),
    /** Asking price per GPU-hour in USD as a decimal string (money stays exact), or "auto". */
    pricePerGpuHour: z
      .string()
      .refine(
        (text) => text === "auto" || parseUsd(text) !== undefined,
        'a USD amount like "1.50", or "auto"',
      )
      .default("1.50"),
    /** With "auto": never ask less than this. */
    priceFloorPerGpuHour: UsdText.optional(),
    /**
     * Asking price per vCPU-hour of CPU-only work, in USD (at most "1.00"), or "auto" (the control
     * plane's suggestion, GET /v1/pricing/cpu/suggest); unset: the network's CPU table
     * (GET /v1/pricing/cpu). Memory is priced by the table.
     */
    pricePerVcpuHour: z
      .string()
      .refine(
        (text) => text === "auto" || VcpuHourPrice.safeParse(text).success,
        'a USD amount up to "1.00", like "0.012", or "auto"',
      )
      .optional(),
    /** With pricePerVcpuHour "auto": never ask less than this. */
    priceFloorPerVcpuHour: VcpuHourText.optional(),
    labels: z.record(z.string(), z.string()).default({}),
    /** Saved after the first registration, so a restart is recognisably the same node. */
    nodeId: NodeId.optional(),
    /** Path of the Docker engine's unix socket; unset means DOCKER_HOST or the default socket. */
    dockerSocket: z.string().min(1).optional(),
    /**
     * The provider's Meridian API key: registering with it makes that account the node's owner,
     * paid what the node earns. The file is mode 0600 for this reason.
     */
    ownerApiKey: z
      .string()
      .regex(/^mrd_\S+$/, "a Meridian API key (mrd_…)")
      .optional(),
    /**
     * How jobs run: "docker" (isolated containers), or "host" — plain processes on this machine,
     * with no isolation at all, for development and hosts that only trusted users reach.
     */
    runtime: z.enum(["docker", "host"]).optional(),
    /** The proof-of-GPU runner; unset: chosen from the runtime and whether GPUs are shared. */
    benchmarkMode: RunnerMode.optional(),
    /** The image the benchmark runs in, in container mode (pre-pull it). */
    benchmarkImage: z.string().min(1).max(255).optional(),
    gpus: GpuShareConfig.optional(),
    limits: ResourceLimitsConfig.optional(),
    windows: z.array(OperatingWindowConfig).optional(),
    /** The zone the windows are in; unset: the host's own. */
    timeZone: TimeZoneName.optional(),
    images: ImageRulesConfig.optional(),
    /** How job containers are confined: egress, read-only root, user, pids, firewall. */
    isolation: IsolationConfig.optional(),
    /** Where the host is: `{lat, lon}` or `{country}`; unset, the control plane uses its view of the connection. */
    location: NodeLocation.optional(),
    /** Where earnings are paid: a Solana address. */
    payoutWallet: z
      .string()
      .regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, "a Solana address (base58)")
      .optional(),
    /** Serve Prometheus metrics on this local port; unset: off. */
    metricsPort: z.number().int().min(1).max(65_535).optional(),
    /** The address the metrics port binds; 127.0.0.1 unless a scraper elsewhere needs it. */
    metricsAddress: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.pricePerGpuHour === "auto" && config.priceFloorPerGpuHour === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["priceFloorPerGpuHour"],
        message: 'pricePerGpuHour "auto" needs a floor: set priceFloorPerGpuHour, e.g. "0.80"',
      });
    }
    if (config.pricePerVcpuHour === "auto" && config.priceFloorPerVcpuHour === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["priceFloorPerVcpuHour"],
        message: 'pricePerVcpuHour "auto" needs a floor: set priceFloorPerVcpuHour, e.g. "0.008"',
      });
    }
  });
export type AgentConfig = z.infer<typeof AgentConfig>;

/** Settings given on the command line (or by a test); they win over the file. */
export type ConfigOverrides = Partial<Omit<AgentConfig, "nodeId">>;

export class ConfigError extends Error {
  readonly code = "config_invalid";
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Reads the config file and applies the overrides. On first start (no file yet) the overrides become
 * the file, so the next start needs no flags.
 */
export async function loadConfig(dataDir: string, overrides: ConfigOverrides): Promise<AgentConfig> {
  const path = join(dataDir, CONFIG_FILE);
  const stored = await readStored(path);
  const merged = parseConfig({ ...(stored ?? {}), ...withoutUndefined(overrides) }, path);
  if (stored === undefined) await writeConfig(dataDir, merged);
  return merged;
}

/** Records the node id the control plane gave, keeping the file's own settings (not the flags). */
export async function saveNodeId(dataDir: string, nodeId: string): Promise<void> {
  const path = join(dataDir, CONFIG_FILE);
  const stored = await readStored(path);
  if (stored === undefined) throw new ConfigError(`${path} disappeared while the agent was running`);
  await writeConfig(dataDir, parseConfig({ ...stored, nodeId }, path));
}

export function parseConfig(value: unknown, source: string): AgentConfig {
  const result = AgentConfig.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
    if (problems.some((problem) => problem.startsWith("controlPlane:"))) {
      problems.push("give the control plane with --control-plane <url>, e.g. http://localhost:8787");
    }
    throw new ConfigError(`invalid agent config (${source}):\n  ${problems.join("\n  ")}`);
  }
  return result.data;
}

async function readStored(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") return undefined;
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`${path} is not valid JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${path} must hold a JSON object`);
  }
  return { ...value };
}

async function writeConfig(dataDir: string, config: AgentConfig): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, CONFIG_FILE);
  // Write then rename, so a crash mid-write never leaves a half file that blocks the next start.
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
}

function withoutUndefined(overrides: ConfigOverrides): Record<string, unknown> {
  return Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
}

/** Reads the file again (the watcher's reload); unlike loadConfig it never creates it. */
export async function reloadConfig(dataDir: string, overrides: ConfigOverrides): Promise<AgentConfig> {
  const path = join(dataDir, CONFIG_FILE);
  const stored = await readStored(path);
  if (stored === undefined) throw new ConfigError(`${path} is gone; keeping the settings in use`);
  return parseConfig({ ...stored, ...withoutUndefined(overrides) }, path);
}
