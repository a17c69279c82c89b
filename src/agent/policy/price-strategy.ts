import { formatUsd, parseUsd } from "../../shared/money.js";
import type { AgentLog } from "../agent-log.js";
import { errorMessage } from "../agent-log.js";
import type { ProviderApi } from "../provider-api.js";

/**
 * An asking price: fixed ("1.50"), or "auto" — the control plane's suggestion, never below the
 * provider's floor. When the suggestion cannot be had, the floor is the price: the node stays
 * listed rather than waiting on a pricing service. The same for both prices a node asks: per
 * GPU-hour (the suggestion for its GPU model in its region) and per vCPU-hour of CPU-only work
 * (the suggestion for its region's CPU market).
 */
export type PriceStrategy = { kind: "fixed"; price: string } | { kind: "auto"; floor: string };

export interface PriceContext {
  api: Pick<ProviderApi, "suggestPrice" | "suggestCpuPrice">;
  log: AgentLog;
  /** The catalogue model of the first shared GPU; undefined on a CPU node. */
  gpuModel: string | undefined;
  region: string | undefined;
}

/** The asking price per GPU-hour. */
export async function askingPrice(strategy: PriceStrategy, context: PriceContext): Promise<string> {
  if (strategy.kind === "fixed") return strategy.price;
  const { gpuModel, region } = context;
  // A CPU node has no model to price; before the first registration the region may be unknown.
  if (gpuModel === undefined || region === undefined) return strategy.floor;
  return suggestedOrFloor(strategy.floor, "price", context.log, () =>
    context.api.suggestPrice(gpuModel, region, strategy.floor),
  );
}

/** The asking price per vCPU-hour; undefined (no strategy) asks the CPU table's rate. */
export async function askingCpuPrice(
  strategy: PriceStrategy | undefined,
  context: PriceContext,
): Promise<string | undefined> {
  if (strategy === undefined) return undefined;
  if (strategy.kind === "fixed") return strategy.price;
  const { region } = context;
  if (region === undefined) return strategy.floor;
  return suggestedOrFloor(strategy.floor, "vCPU-hour price", context.log, () =>
    context.api.suggestCpuPrice(region, strategy.floor),
  );
}

async function suggestedOrFloor(
  floor: string,
  what: string,
  log: AgentLog,
  suggest: () => Promise<string>,
): Promise<string> {
  let suggestion: string;
  try {
    suggestion = await suggest();
  } catch (error) {
    log.warn(`no ${what} suggestion (${errorMessage(error)}); asking the floor price ${floor}`);
    return floor;
  }
  const suggested = parseUsd(suggestion);
  const floorMicros = parseUsd(floor);
  if (suggested === undefined || floorMicros === undefined) return floor;
  return formatUsd(Math.max(suggested, floorMicros));
}
