import type { AgentConfig } from "../agent-config.js";
import { ImagePolicy } from "./image-policy.js";
import { OperatingSchedule } from "./operating-window.js";
import type { PriceStrategy } from "./price-strategy.js";

/**
 * The parts of the config that decide, moment by moment, what this host accepts. Rebuilt whole
 * when the config file changes, and swapped in at once: the next poll and the next assignment
 * see the new rules.
 */
export class HostPolicy {
  readonly schedule: OperatingSchedule;
  readonly images: ImagePolicy;

  constructor(config: Pick<AgentConfig, "windows" | "timeZone" | "images">) {
    this.schedule = new OperatingSchedule(config.windows ?? [], config.timeZone);
    this.images = new ImagePolicy(config.images ?? {});
  }
}

export function priceStrategyOf(
  config: Pick<AgentConfig, "pricePerGpuHour" | "priceFloorPerGpuHour">,
): PriceStrategy {
  if (config.pricePerGpuHour === "auto") return { kind: "auto", floor: config.priceFloorPerGpuHour ?? "0" };
  return { kind: "fixed", price: config.pricePerGpuHour };
}

/** The vCPU-hour price's strategy; undefined when the node asks the CPU table's rate. */
export function cpuPriceStrategyOf(
  config: Pick<AgentConfig, "pricePerVcpuHour" | "priceFloorPerVcpuHour">,
): PriceStrategy | undefined {
  if (config.pricePerVcpuHour === undefined) return undefined;
  if (config.pricePerVcpuHour === "auto") return { kind: "auto", floor: config.priceFloorPerVcpuHour ?? "0" };
  return { kind: "fixed", price: config.pricePerVcpuHour };
}

/** Keys whose change alters what the node registers (its share, price, labels, wallet). */
const REGISTRATION_KEYS = [
  "gpus",
  "limits",
  "pricePerGpuHour",
  "priceFloorPerGpuHour",
  "pricePerVcpuHour",
  "priceFloorPerVcpuHour",
  "labels",
  "payoutWallet",
] as const satisfies readonly (keyof AgentConfig)[];

/** Keys that take effect only on the next start (connections, engines and ports in use). */
const RESTART_KEYS = [
  "controlPlane",
  "region",
  "dockerSocket",
  "ownerApiKey",
  "runtime",
  "benchmarkMode",
  "benchmarkImage",
  "metricsPort",
  "metricsAddress",
  "isolation",
] as const satisfies readonly (keyof AgentConfig)[];

function differs(a: AgentConfig, b: AgentConfig, key: keyof AgentConfig): boolean {
  return JSON.stringify(a[key]) !== JSON.stringify(b[key]);
}

export interface ConfigChange {
  reregister: boolean;
  /** Changed keys that need a restart to apply. */
  needRestart: string[];
}

/** JSON with object keys sorted, so two equal configs read from differently ordered files compare equal. */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Whether a reloaded config changes nothing (the agent's own write, an editor saving unchanged). */
export function sameConfig(before: AgentConfig, after: AgentConfig): boolean {
  return stable(before) === stable(after);
}

export function compareConfigs(before: AgentConfig, after: AgentConfig): ConfigChange {
  return {
    reregister: REGISTRATION_KEYS.some((key) => differs(before, after, key)),
    needRestart: RESTART_KEYS.filter((key) => differs(before, after, key)),
  };
}
