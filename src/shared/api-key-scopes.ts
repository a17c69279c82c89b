import { z } from "zod";
import { idPattern } from "./ids.js";

/**
 * What an API key may do:
 * - `full`: everything its account may (the sign-up key);
 * - `read`: GET and HEAD only — dashboards, monitoring, CI status checks;
 * - `provider`: a provider's own surface — own nodes, earnings, pricing suggestions, the public
 *   inventory, and owning nodes an agent registers with it (`meridian-agent --owner-key`);
 * - `endpoint:<ep_…>`: one inference endpoint only (`/v1/endpoints/<id>/…`), for an app that calls it.
 */
export const KeyScope = z.union([
  z.enum(["full", "read", "provider"]),
  z.string().regex(new RegExp(`^endpoint:${idPattern("ep").source.slice(1, -1)}$`), "endpoint:<ep_… id>"),
]);
export type KeyScope = z.infer<typeof KeyScope>;

/**
 * How long a session key lives, in seconds: a minute to a day. A session key is an API key with an
 * end: after it, every request with it is a 401 `key_expired`; it is not refreshed (sign in again,
 * or create another while it lives), and it can be revoked like any key.
 */
export const SESSION_KEY_DEFAULT_SECONDS = 3_600;
export const SessionKeySeconds = z.number().int().min(60).max(86_400);

export const CreateApiKeyRequest = z
  .object({
    name: z.string().min(1).max(64).optional(),
    scopes: z.array(KeyScope).min(1).max(8),
    /** Makes it a session key that stops working this many seconds from now. */
    expiresInSeconds: SessionKeySeconds.optional(),
  })
  .strict();
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequest>;

export const ApiKeyView = z.object({
  id: z.string(),
  name: z.string().nullable(),
  scopes: z.array(KeyScope),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  /** A session key's end; null for a key that lasts until revoked. */
  expiresAt: z.string().nullable(),
});
export type ApiKeyView = z.infer<typeof ApiKeyView>;

/** GET /v1/account/keys: every key of the account, newest first, never a secret. */
export const ApiKeyList = z.object({ keys: z.array(ApiKeyView) });
export type ApiKeyList = z.infer<typeof ApiKeyList>;

export const ApiKeyCreated = ApiKeyView.extend({ apiKey: z.string() });
export type ApiKeyCreated = z.infer<typeof ApiKeyCreated>;

/** Paths a `provider` key reaches, for any method the route itself allows. */
const PROVIDER_PATHS = [/^\/v1\/provider(\/|$)/, /^\/v1\/pricing(\/|$)/, /^\/v1\/nodes(\/|$)/];

/** Whether a key with these scopes may make this request; false means 403. */
export function scopesAllow(scopes: readonly KeyScope[], method: string, path: string): boolean {
  return scopes.some((scope) => {
    if (scope === "full") return true;
    if (scope === "read") return method === "GET" || method === "HEAD";
    if (scope === "provider") return PROVIDER_PATHS.some((pattern) => pattern.test(path));
    const endpointId = scope.slice("endpoint:".length);
    return path === `/v1/endpoints/${endpointId}` || path.startsWith(`/v1/endpoints/${endpointId}/`);
  });
}

/** Whether these scopes let a key act for one endpoint (an OpenAI-style route names it in its body). */
export function scopesAllowEndpoint(scopes: readonly KeyScope[], endpointId: string): boolean {
  return scopes.some((scope) => scope === "full" || scope === `endpoint:${endpointId}`);
}

/** Whether these scopes may own the nodes an agent registers. */
export function scopesAllowProvider(scopes: readonly KeyScope[]): boolean {
  return scopes.some((scope) => scope === "full" || scope === "provider");
}
