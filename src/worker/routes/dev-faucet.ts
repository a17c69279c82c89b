import { Hono } from "hono";
import { chainConfig, clusterOf } from "../../chain/chain-config.js";
import { requestLocalFaucet } from "../../chain/local-faucet.js";
import { toBaseUnits } from "../../chain/token-amount.js";
import { FaucetRequest, FaucetResult } from "../../shared/chain-api.js";
import { MeridianError } from "../../shared/errors.js";
import { chainBody } from "../chain-body.js";
import { isLocalHost } from "../deployment-guard.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_FAUCET, SAMPLE_WALLET } from "../openapi/sample-chain.js";

const DECIMALS = { sol: 9, usdc: 6, mrd: 6 } as const;

/** `meridian dev faucet`: free test tokens, only where the chain is the local one (else 403). */
export const devFaucetRoutes = new Hono<AppEnv>().post(
  "/",
  doc({
    id: "devFaucet",
    tag: "Dev",
    summary: "Free test tokens on the local chain",
    description:
      "Mints USDC or MRD (or airdrops SOL) to a wallet; only where the chain is the local one, else 403.",
    auth: "none",
    body: FaucetRequest,
    bodyExample: { wallet: SAMPLE_WALLET, amount: "100", token: "usdc" },
    response: { status: 201, schema: FaucetResult, example: SAMPLE_FAUCET },
    errors: [403],
  }),
  async (c) => {
    // A deployed Worker (reached on a public host) never hands out tokens, whatever its variables say.
    if (clusterOf(c.env) !== "local" || !isLocalHost(new URL(c.req.url).hostname)) {
      throw new MeridianError(403, "faucet_not_local", "the faucet only exists on the local chain");
    }
    const body = await chainBody(c, FaucetRequest);
    const amount = toBaseUnits(body.amount, DECIMALS[body.token]);
    const signature = await requestLocalFaucet(chainConfig(c.env).rpcUrl, body.wallet, body.token, amount);
    return c.json(
      {
        signature,
        wallet: body.wallet,
        token: body.token,
        amount: body.amount,
        baseUnits: amount.toString(),
      },
      201,
    );
  },
);
