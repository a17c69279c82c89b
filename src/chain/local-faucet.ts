import { MeridianError } from "../shared/errors.js";

/**
 * The local chain's faucet (its `meridian_faucet` method): only the local JSON-RPC server has it, and
 * only a deployment whose SOLANA_CLUSTER is "local" calls it.
 */
export async function requestLocalFaucet(
  rpcUrl: string,
  wallet: string,
  token: "sol" | "usdc" | "mrd",
  baseUnits: bigint,
): Promise<string> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "meridian_faucet",
      params: [wallet, baseUnits.toString(), token],
    }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message?: string } };
  if (typeof body.result !== "string") {
    throw new MeridianError(
      503,
      "faucet_unavailable",
      `the local chain's faucet refused: ${body.error?.message ?? response.status}`,
    );
  }
  return body.result;
}
