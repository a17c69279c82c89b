import { Hono } from "hono";
import { chainConfig, clusterOf } from "../../chain/chain-config.js";
import { requestLocalFaucet } from "../../chain/local-faucet.js";
import { toBaseUnits } from "../../chain/token-amount.js";
import { FaucetRequest } from "../../shared/chain-api.js";
import { MeridianError } from "../../shared/errors.js";
import { chainBody } from "../chain-body.js";
import { isLocalHost } from "../deployment-guard.js";
import type { AppEnv } from "../hono-env.js";

const DECIMALS = { sol: 9, usdc: 6, mrd: 6 } as const;

/** `meridian dev faucet`: free test tokens, only where the chain is the local one (else 403). */
export const devFaucetRoutes = new Hono<AppEnv>().post("/", async (c) => {
  // A deployed Worker (reached on a public host) never hands out tokens, whatever its variables say.
  if (clusterOf(c.env) !== "local" || !isLocalHost(new URL(c.req.url).hostname)) {
    throw new MeridianError(403, "faucet_not_local", "the faucet only exists on the local chain");
  }
  const body = await chainBody(c, FaucetRequest);
  const amount = toBaseUnits(body.amount, DECIMALS[body.token]);
  const signature = await requestLocalFaucet(chainConfig(c.env).rpcUrl, body.wallet, body.token, amount);
  return c.json(
    { signature, wallet: body.wallet, token: body.token, amount: body.amount, baseUnits: amount.toString() },
    201,
  );
});
