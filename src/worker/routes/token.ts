import { desc } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { burns } from "../../../schema/burns.js";
import { burnView, tokenStats } from "../../chain/burns/token-stats.js";
import { chainConfig } from "../../chain/chain-config.js";
import { SolanaClient } from "../../chain/solana-client.js";
import { BurnList, BurnListQuery, TokenStatsView } from "../../shared/token-api.js";
import type { AppEnv } from "../hono-env.js";
import { queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";

/**
 * GET /v1/token/stats: MRD's supply, what buy-back runs burned, and what is staked; GET
 * /v1/token/burns: the burns, newest first, each with its transaction. Public, like a token's page
 * on an explorer; answers may be cached for a few seconds.
 */
export const tokenRoutes = new Hono<AppEnv>()
  .get(
    "/stats",
    doc({
      id: "tokenStats",
      tag: "Token",
      summary: "MRD supply, burned and staked",
      description:
        "Supply and staked are read from the chain (the mint and the stake vault); burned is the sum of confirmed buy-back burns.",
      auth: "none",
      response: { schema: TokenStatsView },
      errors: [503],
    }),
    async (c) => {
      const config = chainConfig(c.env);
      const stats = await tokenStats({
        db: drizzle(c.env.DB),
        chain: new SolanaClient(config.rpcUrl),
        mrdMint: config.mrdMint,
        stakeVault: config.stakeVault,
        rateMicros: config.mrdUsdMicros,
      });
      c.header("cache-control", "public, max-age=10");
      return c.json(stats);
    },
  )
  .get(
    "/burns",
    doc({
      id: "listBurns",
      tag: "Token",
      summary: "Buy-back burns",
      auth: "none",
      query: BurnListQuery,
      response: { schema: BurnList },
    }),
    async (c) => {
      const query = queryOf(c, BurnListQuery);
      const rows = await drizzle(c.env.DB)
        .select()
        .from(burns)
        .orderBy(desc(burns.claimedAt))
        .limit(query.limit)
        .all();
      return c.json({ burns: rows.map(burnView) });
    },
  );
