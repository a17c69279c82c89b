import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { chainConfig } from "../../chain/chain-config.js";
import { slashEvidence, type VerificationRecord } from "../../chain/staking/slash-evidence.js";
import { transferView } from "../../chain/staking/stake-book.js";
import { stakeConfig } from "../../chain/staking/stake-config.js";
import type { StakeRunRecord } from "../../durable/payout-object.js";
import { unwrap } from "../../durable/rpc-result.js";
import { MeridianError } from "../../shared/errors.js";
import { SlashRequest, StakeRunView, StakeTransferView } from "../../shared/staking-api.js";
import { chainBody } from "../chain-body.js";
import type { AppEnv } from "../hono-env.js";
import { regionOfNode } from "../node-records.js";
import { doc } from "../openapi/route-doc.js";
import { requireOperator } from "../operator-auth.js";
import { nodeStub } from "../region-routing.js";
import { pushStakeTier } from "../stake-tier.js";
import { payoutsStub } from "./operator-payouts.js";

function requireVault(env: Env): void {
  if (!chainConfig(env).stakeVault)
    throw new MeridianError(
      503,
      "chain_not_configured",
      "staking is not configured (STAKE_VAULT is not set)",
    );
}

const runView = (record: StakeRunRecord) => ({ ...record, at: new Date(record.at).toISOString() });

/** The node's verification as its region holds it; null for a node without one (a CPU node). */
async function verificationOf(env: Env, nodeId: string): Promise<VerificationRecord | null> {
  const region = await regionOfNode(env.DB, nodeId);
  return unwrap(await nodeStub(env, region, nodeId).providerNode(nodeId)).verification;
}

/**
 * POST /v1/operator/staking/:nodeId/slash: slash a configured share of a node's stake into the
 * treasury for proven misbehaviour, linked to its evidence; POST …/run: claim due withdrawals and
 * send open vault transfers now (the scheduled payout run does the same).
 */
export const operatorStakingRoutes = new Hono<AppEnv>()
  .post(
    "/run",
    doc({
      id: "runStakeTransfers",
      tag: "Operator",
      summary: "Pay out due unstakes and slashes now",
      auth: "operator",
      response: { schema: StakeRunView },
      errors: [503],
    }),
    requireOperator,
    async (c) => {
      requireVault(c.env);
      return c.json(runView(await payoutsStub(c.env).stakeNow()));
    },
  )
  .post(
    "/:nodeId/slash",
    doc({
      id: "slashStake",
      tag: "Operator",
      summary: "Slash a node's stake",
      description:
        "The evidence must prove it: `dispute:<id>` (a charge dispute on the node's attempt, refunded) or `verification` (the node's verification is rejected). SLASH_SHARE_BPS of what is staked and unbonding moves to the treasury on chain; one slash per piece of evidence.",
      auth: "operator",
      body: SlashRequest,
      bodyExample: { evidence: "verification", reason: "failed its proof-of-GPU challenge" },
      response: { status: 201, schema: StakeTransferView },
      errors: [409, 422, 503],
    }),
    requireOperator,
    async (c) => {
      const body = await chainBody(c, SlashRequest);
      requireVault(c.env);
      const nodeId = c.req.param("nodeId");
      const proof = await slashEvidence(drizzle(c.env.DB), {
        nodeId,
        evidence: body.evidence,
        verificationOf: (id) => verificationOf(c.env, id),
      });
      const { transfer } = unwrap(
        await payoutsStub(c.env).slash({
          nodeId,
          shareBps: stakeConfig(c.env).slashShareBps,
          evidence: proof.evidence,
          evidenceHash: proof.evidenceHash,
          reason: body.reason,
          now: Date.now(),
        }),
      );
      await pushStakeTier(c.env, nodeId);
      return c.json(transferView(transfer), 201);
    },
  );
