import { Hono } from "hono";
import { chainConfig } from "../../chain/chain-config.js";
import { MeridianError } from "../../shared/errors.js";
import { BurnRunView } from "../../shared/token-api.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";
import { requireOperator } from "../operator-auth.js";
import { payoutsStub } from "./operator-payouts.js";

/**
 * POST /v1/operator/burns/run: spend the burn reserve now, whatever the schedule: buy MRD from the
 * treasury at MRD_USD_MICROS and burn it on chain (the scheduled payout run does the same daily).
 */
export const operatorBurnRoutes = new Hono<AppEnv>().post(
  "/run",
  doc({
    id: "runBurns",
    tag: "Operator",
    summary: "Buy back and burn MRD now",
    description:
      "Claims the ledger's burn reserve when it holds at least BURN_MIN_MICROS, burns the MRD it buys in one transaction from the burn vault, and carries an unlanded burn forward.",
    auth: "operator",
    response: { schema: BurnRunView },
    errors: [503],
  }),
  requireOperator,
  async (c) => {
    if (!chainConfig(c.env).burnVault)
      throw new MeridianError(
        503,
        "chain_not_configured",
        "the chain is not configured (BURN_VAULT is not set)",
      );
    const record = await payoutsStub(c.env).burnNow();
    return c.json({ ...record, at: new Date(record.at).toISOString() });
  },
);
