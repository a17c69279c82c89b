import type { z } from "zod";
import { RegisterRequest } from "../shared/agent-protocol.js";
import type { HardwareReport } from "../shared/hardware.js";
import type { AgentConfig } from "./agent-config.js";
import { ConfigError } from "./agent-config.js";
import type { AgentLog } from "./agent-log.js";
import { cpuPriceStrategyOf, priceStrategyOf } from "./policy/host-policy.js";
import { askingCpuPrice, askingPrice, type PriceContext } from "./policy/price-strategy.js";
import type { ProviderApi } from "./provider-api.js";
import type { EngineChoice } from "./verification/benchmark-engine.js";

export const AGENT_VERSION = "0.1.0";

export type RegistrationBody = z.input<typeof RegisterRequest>;

export interface RegistrationInput {
  config: AgentConfig;
  /** Already cut down to what the host shares. */
  hardware: HardwareReport;
  runtime: "docker" | "host";
  benchmark: EngineChoice;
  api: Pick<ProviderApi, "suggestPrice" | "suggestCpuPrice">;
  log: AgentLog;
  /** The region the control plane put the node in last time, for the price suggestion. */
  knownRegion: string | undefined;
  /** Measures the bandwidth to the control plane (bandwidth-probe.ts); undefined when it could not. */
  measureBandwidth?: () => Promise<number | undefined>;
}

/** What the node registers as; a price is asked for each time when it is "auto". */
export async function buildRegistration(input: RegistrationInput): Promise<RegistrationBody> {
  const { config, hardware } = input;
  const context: PriceContext = {
    api: input.api,
    log: input.log,
    gpuModel: hardware.gpus.find((gpu) => gpu.model !== undefined)?.model,
    region: config.region ?? input.knownRegion,
  };
  const price = await askingPrice(priceStrategyOf(config), context);
  const cpuPrice = await askingCpuPrice(cpuPriceStrategyOf(config), context);
  const bandwidthGbps = await input.measureBandwidth?.();
  return checkRegistration({
    ...(config.region ? { region: config.region } : {}),
    hardware,
    pricePerGpuHour: price,
    ...(cpuPrice === undefined ? {} : { pricePerVcpuHour: cpuPrice }),
    labels: config.labels,
    agentVersion: AGENT_VERSION,
    // "host": jobs run as plain host processes (trusted-host mode, which the provider opted into).
    runtime: input.runtime,
    benchmark: {
      mode: input.benchmark.mode,
      ...(input.benchmark.image ? { image: input.benchmark.image } : {}),
    },
    ...(config.payoutWallet ? { payoutWallet: config.payoutWallet } : {}),
    ...(config.location ? { location: config.location } : {}),
    ...(bandwidthGbps !== undefined ? { bandwidthGbps } : {}),
  });
}

/** Refuses a bad registration here, with the reason, rather than as a 400 from the server later. */
export function checkRegistration(body: RegistrationBody): RegistrationBody {
  const checked = RegisterRequest.safeParse(body);
  if (!checked.success) {
    const problems = checked.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`this node cannot register as configured:\n  ${problems.join("\n  ")}`);
  }
  return body;
}
