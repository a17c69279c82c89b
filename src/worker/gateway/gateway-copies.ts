import { accountDirectory, keyDirectory } from "../../durable/endpoints/gateway-directory.js";
import type { EndpointRoute } from "../../durable/endpoints/gateway-traffic.js";
import { sha256Hex } from "../../shared/agent-signature.js";
import { type Background, ShortCopy } from "./short-copy.js";

/**
 * How old the gateway's copies may be when used (see short-copy.ts): a key revoked, an endpoint
 * deleted, made private or suspended, or a replica gone is seen by every isolate within this
 * time, and at once by the isolate that served the change.
 */
export const GATEWAY_COPY_MAX_AGE_MS = 1_000;
const OPTIONS = { maxAgeMs: GATEWAY_COPY_MAX_AGE_MS, refreshAfterMs: 500, maxEntries: 10_000 };

const routes = new ShortCopy<EndpointRoute>(OPTIONS);
const names = new ShortCopy<string>(OPTIONS);
const keys = new ShortCopy<{ accountId: string; scopes: string[]; expiresAt: number | null }>(OPTIONS);

/** The endpoint's ready regions and access facts, from its object at most 1 s ago; null: unknown. */
export function endpointRoute(
  env: Env,
  endpointId: string,
  background: Background,
): Promise<EndpointRoute | null> {
  return routes.get(
    endpointId,
    () => env.ENDPOINT.get(env.ENDPOINT.idFromName(endpointId)).route(),
    background,
  );
}

/** The id of the account's endpoint named `name`; null: no such name. */
export function endpointNamed(
  env: Env,
  accountId: string,
  name: string,
  background: Background,
): Promise<string | null> {
  return names.get(`${accountId}\n${name}`, () => accountDirectory(env, accountId).resolve(name), background);
}

/**
 * The key's account and scopes when `secret` is its secret and it is not revoked (the gateway
 * directory's answer); a failed check is never kept. Kept under the key id and the secret's hash,
 * so only a request presenting exactly the verified secret can use the copy. A session key's copy is
 * not used past the key's end.
 */
export async function verifiedKey(
  env: Env,
  keyId: string,
  secret: string,
  background: Background,
): Promise<{ accountId: string; scopes: string[] } | null> {
  const key = await keys.get(
    `${keyId}\n${await sha256Hex(secret)}`,
    () => keyDirectory(env, keyId).verify(keyId, secret),
    background,
  );
  if (key === null || (key.expiresAt !== null && key.expiresAt <= Date.now())) return null;
  return { accountId: key.accountId, scopes: key.scopes };
}

/** The endpoint changed here (updated, deleted): this isolate's copy is dropped at once. */
export function forgetEndpointCopy(endpointId: string, accountId?: string, name?: string): void {
  routes.forget(endpointId);
  if (accountId !== undefined && name !== undefined) names.forget(`${accountId}\n${name}`);
}

/** The key was revoked here: this isolate stops accepting it at once. */
export function forgetKeyCopy(keyId: string): void {
  keys.forget((key) => key.startsWith(`${keyId}\n`));
}
