import { desc, gte, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { storageSweepFailures } from "../../../schema/storage.js";
import {
  type SweepItemList,
  SweepItemList as SweepItemListSchema,
  SweepItemsQuery,
} from "../../shared/storage/sweep-api.js";
import type { AppEnv } from "../hono-env.js";
import { queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { requireOperator } from "../operator-auth.js";
import { STUCK_AFTER } from "../storage/sweep-backoff.js";

const LIMIT = 200;

/**
 * GET /v1/operator/storage/sweeps: the items the storage sweeps (checkpoints past their
 * retention, expired outputs, abandoned multipart uploads) keep failing on, with their last error
 * and next try, so a stuck one shows somewhere other than the logs.
 */
export const storageSweepRoutes = new Hono<AppEnv>().get(
  "/sweeps",
  doc({
    id: "listStorageSweepItems",
    tag: "Operator",
    summary: "Storage sweep items that keep failing",
    description: `Each item a storage sweep failed on and will try again (a minute, doubling to six hours), most failures first; \`stuck\` from the ${STUCK_AFTER}th failure. \`?only=stuck\` lists only those.`,
    auth: "operator",
    query: SweepItemsQuery,
    response: {
      schema: SweepItemListSchema,
      example: {
        items: [
          {
            kind: "checkpoints",
            itemId: "job_01JD3XK0000000000000000000",
            attempts: 6,
            stuck: true,
            retryAt: "2026-12-02T06:00:00.000Z",
            lastError: "MeridianError: the bucket refused 3 of 1000 keys (AccessDenied)",
            updatedAt: "2026-12-02T04:58:00.000Z",
          },
        ],
        stuck: 1,
      },
    },
  }),
  requireOperator,
  async (c) => {
    const { only } = queryOf(c, SweepItemsQuery);
    const db = drizzle(c.env.DB);
    const rows = await db
      .select()
      .from(storageSweepFailures)
      .where(only === "stuck" ? gte(storageSweepFailures.attempts, STUCK_AFTER) : undefined)
      .orderBy(desc(storageSweepFailures.attempts), storageSweepFailures.kind, storageSweepFailures.itemId)
      .limit(LIMIT)
      .all();
    const count = await db
      .select({ n: sql<number>`COUNT(*)` })
      .from(storageSweepFailures)
      .where(gte(storageSweepFailures.attempts, STUCK_AFTER))
      .get();
    const body: SweepItemList = {
      items: rows.map((row) => ({
        kind: row.kind,
        itemId: row.itemId,
        attempts: row.attempts,
        stuck: row.attempts >= STUCK_AFTER,
        retryAt: new Date(row.retryAt).toISOString(),
        lastError: row.lastError,
        updatedAt: new Date(row.updatedAt).toISOString(),
      })),
      stuck: Number(count?.n ?? 0),
    };
    return c.json(body);
  },
);
