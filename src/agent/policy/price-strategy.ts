import { formatUsd, parseUsd } from "../../shared/money.js";
import type { AgentLog } from "../agent-log.js";
import { errorMessage } from "../agent-log.js";
import type { ProviderApi } from "../provider-api.js";

/**
 * The asking price per GPU-hour: fixed ("1.50"), or "auto" — the control plane's suggestion for
 * this GPU model in this region, never below the provider's floor. When the suggestion cannot be
 * had, the floor is the price: the node stays listed rather than waiting on a pricing service.
 */
export type PriceStrategy = { kind: "fixed"; price: string } | { kind: "auto"; floor: string };

export interface PriceContext {
  api: Pick<ProviderApi, "suggestPrice">;
  log: AgentLog;
  /** The catalogue model of the first shared GPU; undefined on a CPU node. */
  gpuModel: string | undefined;
  region: string | undefined;
}

export async function askingPrice(strategy: PriceStrategy, context: PriceContext): Promise<string> {
  if (strategy.kind === "fixed") return strategy.price;
  // A CPU node has no model to price; before the first registration the region may be unknown.
  if (context.gpuModel === undefined || context.region === undefined) return strategy.floor;
  let suggestion: string;
  try {
    suggestion = await context.api.suggestPrice(context.gpuModel, context.region, strategy.floor);
  } catch (error) {
    context.log.warn(
      `no price suggestion (${errorMessage(error)}); asking the floor price ${strategy.floor}`,
    );
    return strategy.floor;
  }
  const suggested = parseUsd(suggestion);
  const floor = parseUsd(strategy.floor);
  if (suggested === undefined || floor === undefined) return strategy.floor;
  return formatUsd(Math.max(suggested, floor));
}
