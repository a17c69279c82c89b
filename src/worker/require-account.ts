import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { apiKeys } from "../../schema/tables.js";
import { KeyScope, scopesAllow, scopesAllowProvider } from "../shared/api-key-scopes.js";
import { MeridianError } from "../shared/errors.js";
import { parseApiKey, secretMatches } from "./api-keys.js";
import type { AppEnv } from "./hono-env.js";
import { callerAddress, rateLimitsOf, takeOrThrow } from "./rate-limits.js";
import { recalledKey, rememberKey, tokenHash } from "./verified-keys.js";

export interface AuthenticatedKey {
  accountId: string;
  keyId: string;
  scopes: KeyScope[];
}

const StoredScopes = z.array(KeyScope);

/**
 * The key an `Authorization: Bearer <api key>` header carries; 401 for a missing, bad or revoked
 * key, and 401 `key_expired` for a session key past its end. A token verified a moment ago in this
 * isolate is not looked up again (verified-keys.ts), and never past its end.
 */
export async function authenticateKey(
  database: D1Database,
  header: string,
  now: number = Date.now(),
): Promise<AuthenticatedKey> {
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token) throw new MeridianError(401, "unauthorized", "send an API key as Authorization: Bearer <key>");
  const parsed = parseApiKey(token);
  const hash = parsed ? await tokenHash(token) : undefined;
  const recalled = hash === undefined ? undefined : recalledKey(hash, now);
  if (recalled !== undefined) return recalled;
  const row = parsed
    ? await drizzle(database)
        .select({
          accountId: apiKeys.accountId,
          secretHash: apiKeys.secretHash,
          scopes: apiKeys.scopes,
          expiresAt: apiKeys.expiresAt,
        })
        .from(apiKeys)
        .where(and(eq(apiKeys.id, parsed.keyId), isNull(apiKeys.revokedAt)))
        .get()
    : undefined;
  if (!parsed || !row || !(await secretMatches(parsed.secret, row.secretHash))) {
    throw new MeridianError(401, "unauthorized", "the API key is not valid");
  }
  if (row.expiresAt !== null && row.expiresAt <= now) {
    throw new MeridianError(
      401,
      "key_expired",
      `this session key expired at ${new Date(row.expiresAt).toISOString()}; sign in again`,
    );
  }
  const scopes = StoredScopes.safeParse(JSON.parse(row.scopes));
  const key = { accountId: row.accountId, keyId: parsed.keyId, scopes: scopes.success ? scopes.data : [] };
  if (hash !== undefined) rememberKey(hash, key, now, row.expiresAt);
  return key;
}

/**
 * The account that will own the nodes an agent registers with this key (`--owner-key`); the key
 * must be a full or a provider key.
 */
export async function accountOfAuthorization(database: D1Database, header: string): Promise<string> {
  const key = await authenticateKey(database, header);
  if (!scopesAllowProvider(key.scopes)) {
    throw new MeridianError(403, "forbidden", "this API key cannot own nodes: use a full or a provider key");
  }
  return key.accountId;
}

/**
 * Requires `Authorization: Bearer <api key>` whose scopes allow the request, within the key's rate
 * limit, and puts the key's account, id and scopes on the context. Failed authentications count
 * against the caller's address, so guessing keys ends in 429s.
 */
export const requireAccount = createMiddleware<AppEnv>(async (c, next) => {
  const limits = rateLimitsOf(c.env);
  let key: AuthenticatedKey;
  try {
    key = await authenticateKey(c.env.DB, c.req.header("authorization") ?? "");
  } catch (error) {
    if (error instanceof MeridianError && error.status === 401) {
      await takeOrThrow(
        c.env,
        `auth-failure:${callerAddress(c.req)}`,
        limits.authFailuresPerAddress,
        "failed authentications from this address",
      );
    }
    throw error;
  }
  if (!scopesAllow(key.scopes, c.req.method, c.req.path)) {
    throw new MeridianError(
      403,
      "forbidden",
      `this API key (scopes ${key.scopes.join(", ")}) may not ${c.req.method} ${c.req.path}`,
    );
  }
  await takeOrThrow(c.env, `key:${key.keyId}`, limits.requestsPerKey, "requests with this API key");
  c.set("accountId", key.accountId);
  c.set("keyId", key.keyId);
  c.set("keyScopes", key.scopes);
  await next();
});
