import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { createMiddleware } from "hono/factory";
import { apiKeys } from "../../schema/tables.js";
import { MeridianError } from "../shared/errors.js";
import { parseApiKey, secretMatches } from "./api-keys.js";
import type { AppEnv } from "./hono-env.js";

/** The account an `Authorization: Bearer <api key>` header belongs to; 401 for a missing or bad key. */
export async function accountOfAuthorization(database: D1Database, header: string): Promise<string> {
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token) throw new MeridianError(401, "unauthorized", "send an API key as Authorization: Bearer <key>");
  const parsed = parseApiKey(token);
  const row = parsed
    ? await drizzle(database)
        .select({ accountId: apiKeys.accountId, secretHash: apiKeys.secretHash })
        .from(apiKeys)
        .where(and(eq(apiKeys.id, parsed.keyId), isNull(apiKeys.revokedAt)))
        .get()
    : undefined;
  if (!parsed || !row || !(await secretMatches(parsed.secret, row.secretHash))) {
    throw new MeridianError(401, "unauthorized", "the API key is not valid");
  }
  return row.accountId;
}

/** Requires `Authorization: Bearer <api key>` and puts the key's account on the context. */
export const requireAccount = createMiddleware<AppEnv>(async (c, next) => {
  c.set("accountId", await accountOfAuthorization(c.env.DB, c.req.header("authorization") ?? ""));
  await next();
});
