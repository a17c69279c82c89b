import type { Signature } from "@solana/kit";
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { nodeOwners } from "../../../schema/ledger.js";
import { chainConfig } from "../../chain/chain-config.js";
import { SolanaClient } from "../../chain/solana-client.js";
import { requestUnstake, stakeView, transferView } from "../../chain/staking/stake-book.js";
import { stakeConfig } from "../../chain/staking/stake-config.js";
import { readDeposit, recordDeposit } from "../../chain/staking/stake-deposit.js";
import { toBaseUnits } from "../../chain/token-amount.js";
import { MeridianError } from "../../shared/errors.js";
import { idPattern } from "../../shared/ids.js";
import {
  StakeDepositRequest,
  StakeTransferView,
  StakeView,
  UnstakeRequest,
} from "../../shared/staking-api.js";
import { chainBody } from "../chain-body.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";
import { callerAddress } from "../rate-limits.js";
import { pushStakeTier } from "../stake-tier.js";

const NODE_ID = idPattern("node");

/** The caller's own node; another provider's node answers 404, as a missing one does. */
async function ownNode(database: D1Database, accountId: string, nodeId: string): Promise<string> {
  const owned = NODE_ID.test(nodeId)
    ? await drizzle(database)
        .select({ nodeId: nodeOwners.nodeId })
        .from(nodeOwners)
        .where(and(eq(nodeOwners.nodeId, nodeId), eq(nodeOwners.accountId, accountId)))
        .get()
    : undefined;
  if (!owned) throw new MeridianError(404, "node_not_found", `no node ${nodeId.slice(0, 64)} of yours`);
  return nodeId;
}

function vaultOf(env: Env) {
  const config = chainConfig(env);
  if (!config.stakeVault)
    throw new MeridianError(
      503,
      "chain_not_configured",
      "staking is not configured (STAKE_VAULT is not set)",
    );
  return { config, vault: config.stakeVault };
}

/**
 * A provider's MRD stake per node: GET the stake, POST a deposit (a transaction the provider's wallet
 * signed, moving MRD into the stake vault with the node's memo; checked on chain before it counts),
 * POST an unstake (it waits out the cooldown, then leaves the vault to the payout wallet).
 */
export const stakingRoutes = new Hono<AppEnv>()
  .get(
    "/:nodeId",
    doc({
      id: "getNodeStake",
      tag: "Provider",
      summary: "A node's stake",
      description:
        "Staked and unbonding MRD, the listing tier it earns, how to deposit (vault, mint, memo), deposits, withdrawals and slashes.",
      response: { schema: StakeView },
      errors: [503],
    }),
    async (c) => {
      const nodeId = await ownNode(c.env.DB, c.get("accountId"), c.req.param("nodeId"));
      const { config, vault } = vaultOf(c.env);
      return c.json(
        await stakeView(drizzle(c.env.DB), {
          nodeId,
          config: stakeConfig(c.env),
          vault,
          mint: config.mrdMint,
        }),
      );
    },
  )
  .post(
    "/:nodeId/deposits",
    doc({
      id: "depositStake",
      tag: "Provider",
      summary: "Count a stake deposit",
      description:
        "The signature of a transaction your wallet signed and sent: an MRD transfer into the stake vault with the memo `meridian-stake-v1 <nodeId>`. It counts once it is confirmed (finalized on a cluster), once per signature, for what the vault's balance rose by.",
      body: StakeDepositRequest,
      response: { status: 201, schema: StakeView },
      errors: [409, 422, 503],
    }),
    async (c) => {
      const body = await chainBody(c, StakeDepositRequest);
      const accountId = c.get("accountId");
      const nodeId = await ownNode(c.env.DB, accountId, c.req.param("nodeId"));
      const { config, vault } = vaultOf(c.env);
      const db = drizzle(c.env.DB);
      const deposit = await readDeposit(new SolanaClient(config.rpcUrl), body.signature as Signature, {
        vault,
        mint: config.mrdMint,
        commitment: config.cluster === "local" ? "confirmed" : "finalized",
      });
      if (!deposit)
        throw new MeridianError(
          422,
          "deposit_not_found",
          "no confirmed transaction with this signature yet: send it, wait for it to confirm, then try again",
        );
      await recordDeposit(db, {
        nodeId,
        accountId,
        signature: body.signature,
        deposit,
        now: Date.now(),
        by: { keyId: c.get("keyId"), address: callerAddress(c.req) },
      });
      await pushStakeTier(c.env, nodeId);
      return c.json(
        await stakeView(db, { nodeId, config: stakeConfig(c.env), vault, mint: config.mrdMint }),
        201,
      );
    },
  )
  .post(
    "/:nodeId/unstake",
    doc({
      id: "unstake",
      tag: "Provider",
      summary: "Unstake MRD",
      description:
        "Moves the amount from staked to unbonding; after the cooldown (14 days by default) it is paid back to your payout wallet. Unbonding MRD can still be slashed.",
      body: UnstakeRequest,
      bodyExample: { amount: "100" },
      response: { status: 201, schema: StakeTransferView },
      errors: [422, 503],
    }),
    async (c) => {
      const body = await chainBody(c, UnstakeRequest);
      const accountId = c.get("accountId");
      const nodeId = await ownNode(c.env.DB, accountId, c.req.param("nodeId"));
      vaultOf(c.env);
      const row = await requestUnstake(drizzle(c.env.DB), {
        nodeId,
        accountId,
        amountBase: toBaseUnits(body.amount, 6),
        cooldownMs: stakeConfig(c.env).cooldownMs,
        now: Date.now(),
        by: { keyId: c.get("keyId"), address: callerAddress(c.req) },
      });
      await pushStakeTier(c.env, nodeId);
      return c.json(transferView(row), 201);
    },
  );
