import { and, desc, eq, gt, isNull, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { z } from "zod";
import { apiKeys } from "../../../schema/tables.js";
import { keyDirectory } from "../../durable/endpoints/gateway-directory.js";
import {
  ApiKeyCreated,
  ApiKeyList,
  ApiKeyView,
  CreateApiKeyRequest,
  KeyScope,
} from "../../shared/api-key-scopes.js";
import { MeridianError } from "../../shared/errors.js";
import { newId } from "../../shared/ids.js";
import { issueApiKey } from "../api-keys.js";
import { auditStatement } from "../audit-log.js";
import { forgetKeyCopy } from "../gateway/gateway-copies.js";
import type { AppEnv } from "../hono-env.js";
import { jsonBody, parseOrThrow } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_API_KEY_CREATED, SAMPLE_API_KEY_VIEW } from "../openapi/sample-account.js";
import { callerAddress } from "../rate-limits.js";
import { forgetKey } from "../verified-keys.js";

const KeyIdParam = z.string().regex(/^key_[0-9a-hjkmnp-tv-z]{26}$/, "a key id");
const StoredScopes = z.array(KeyScope);

/** The most live keys one account may hold: enough for every service, not a table to fill. */
export const MAX_LIVE_KEYS = 50;

type KeyRow = typeof apiKeys.$inferSelect;

function view(row: KeyRow): ApiKeyView {
  const scopes = StoredScopes.safeParse(JSON.parse(row.scopes));
  return {
    id: row.id,
    name: row.name,
    scopes: scopes.success ? scopes.data : [],
    createdAt: new Date(row.createdAt).toISOString(),
    revokedAt: row.revokedAt === null ? null : new Date(row.revokedAt).toISOString(),
    expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
  };
}

/** Key management needs a full key: a narrower key may not mint or revoke keys. */
function requireFullKey(scopes: readonly KeyScope[]): void {
  if (!scopes.includes("full")) {
    throw new MeridianError(403, "forbidden", "managing API keys needs a full key");
  }
}

/**
 * /v1/account/keys: list (never a secret), create with scopes (the key is shown once), revoke.
 * Every creation and revocation is in the audit log, in the same batch as the change.
 */
export const apiKeyRoutes = new Hono<AppEnv>()
  .get(
    "/",
    doc({
      id: "listApiKeys",
      tag: "Account",
      summary: "List API keys",
      description: "Live and revoked keys, newest first; never a secret.",
      response: { schema: ApiKeyList, example: { keys: [SAMPLE_API_KEY_VIEW] } },
    }),
    async (c) => {
      const rows = await drizzle(c.env.DB)
        .select()
        .from(apiKeys)
        .where(eq(apiKeys.accountId, c.get("accountId")))
        .orderBy(desc(apiKeys.id))
        .limit(200);
      return c.json({ keys: rows.map(view) });
    },
  )
  .post(
    "/",
    doc({
      id: "createApiKey",
      tag: "Account",
      summary: "Create an API key with scopes",
      description:
        "Scopes: `full`, `read` (GET and HEAD only), `provider`, `endpoint:<ep_…>`. With `expiresInSeconds` (60 to 86,400) it is a session key: from then on every request with it is a 401 `key_expired`. The secret `apiKey` is shown in this answer only. Needs a full key.",
      body: CreateApiKeyRequest,
      bodyExample: { name: "ci", scopes: ["read"] },
      response: { status: 201, schema: ApiKeyCreated, example: SAMPLE_API_KEY_CREATED },
      errors: [403, 409],
    }),
    async (c) => {
      requireFullKey(c.get("keyScopes"));
      const body = await jsonBody(c, CreateApiKeyRequest);
      const accountId = c.get("accountId");
      const db = drizzle(c.env.DB);
      const now = Date.now();
      // An expired session key is not live: it counts against nothing.
      const live = await db
        .select({ id: apiKeys.id })
        .from(apiKeys)
        .where(
          and(
            eq(apiKeys.accountId, accountId),
            isNull(apiKeys.revokedAt),
            or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)),
          ),
        )
        .limit(MAX_LIVE_KEYS);
      if (live.length >= MAX_LIVE_KEYS) {
        throw new MeridianError(409, "too_many_keys", `at most ${MAX_LIVE_KEYS} live keys; revoke one first`);
      }
      const key = await issueApiKey(newId("key", now));
      const scopes = [...new Set(body.scopes)];
      const row: KeyRow = {
        id: key.keyId,
        accountId,
        secretHash: key.secretHash,
        name: body.name ?? null,
        scopes: JSON.stringify(scopes),
        createdAt: now,
        revokedAt: null,
        expiresAt: body.expiresInSeconds === undefined ? null : now + body.expiresInSeconds * 1000,
      };
      await db.batch([
        db.insert(apiKeys).values(row),
        auditStatement(db, {
          accountId,
          action: "key.created",
          subject: key.keyId,
          keyId: c.get("keyId"),
          address: callerAddress(c.req),
          details: {
            name: row.name,
            scopes,
            ...(row.expiresAt === null ? {} : { expiresAt: new Date(row.expiresAt).toISOString() }),
          },
          now,
        }),
      ]);
      const created: ApiKeyCreated = { ...view(row), apiKey: key.apiKey };
      return c.json(created, 201);
    },
  )
  .delete(
    "/:id",
    doc({
      id: "revokeApiKey",
      tag: "Account",
      summary: "Revoke an API key",
      description:
        "Takes effect at once (a session key too: signing out); revoking a revoked key answers it unchanged. Needs a full key.",
      response: {
        schema: ApiKeyView,
        example: { ...SAMPLE_API_KEY_VIEW, revokedAt: "2026-12-01T09:00:00.000Z" },
      },
      errors: [403],
    }),
    async (c) => {
      requireFullKey(c.get("keyScopes"));
      const id = parseOrThrow(KeyIdParam, c.req.param("id"), "key id");
      const accountId = c.get("accountId");
      const db = drizzle(c.env.DB);
      const row = await db
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.id, id), eq(apiKeys.accountId, accountId)))
        .get();
      // Another account's key answers exactly like a key that does not exist.
      if (row === undefined) throw new MeridianError(404, "not_found", `no key ${id}`);
      if (row.revokedAt !== null) return c.json(view(row));
      const now = Date.now();
      await db.batch([
        db
          .update(apiKeys)
          .set({ revokedAt: now })
          .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))),
        auditStatement(db, {
          accountId,
          action: "key.revoked",
          subject: id,
          keyId: c.get("keyId"),
          address: callerAddress(c.req),
          now,
        }),
      ]);
      forgetKey(id);
      forgetKeyCopy(id);
      // The inference gateway caches keys (gateway-directory.ts): it hears of the revocation at once.
      await keyDirectory(c.env, id).revoke();
      return c.json(view({ ...row, revokedAt: now }));
    },
  );
