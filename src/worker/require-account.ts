import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { createMiddleware } from "hono/factory";
import { apiKeys } from "../../schema/tables.js";
import { MeridianError } from "../shared/errors.js";
import { parseApiKey, secretMatches } from "./api-keys.js";
import type { AppEnv } from "./hono-env.js";

/** Requires `Authorization: Bearer <api key>` and puts the key's account on the context. */
export const requireAccount = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token) throw new MeridianError(401, "unauthorized", "send an API key as Authorization: Bearer <key>");
  const parsed = parseApiKey(token);
  const row = parsed
    ? await drizzle(c.env.DB)
        .select({ accountId: apiKeys.accountId, secretHash: apiKeys.secretHash })
        .from(apiKeys)
        .where(and(eq(apiKeys.id, parsed.keyId), isNull(apiKeys.revokedAt)))
        .get()
    : undefined;
  if (!parsed || !row || !(await secretMatches(parsed.secret, row.secretHash))) {
    throw new MeridianError(401, "unauthorized", "the API key is not valid");
  }
  c.set("accountId", row.accountId);
  await next();
});
