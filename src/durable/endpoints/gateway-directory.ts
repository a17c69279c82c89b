import { DurableObject } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { apiKeys } from "../../../schema/tables.js";
import { sha256Hex } from "../../shared/agent-signature.js";
import { KeyScope } from "../../shared/api-key-scopes.js";

/** A cached key is re-read from D1 in the background once it is this old (bounds a missed revocation). */
export const KEY_REFRESH_MS = 15_000;

interface CachedKey {
  accountId: string;
  secretHash: string;
  scopes: KeyScope[];
  revoked: boolean;
  /** A session key's end (ms); absent or null for a key that lasts until revoked. */
  expiresAt?: number | null;
  fetchedAt: number;
}

const StoredScopes = z.array(KeyScope);

/**
 * What the inference gateway needs without reading D1 per request, as Durable Objects:
 * - `key:<key id>` holds one API key's hash, account and scopes: read from D1 the first time the
 *   key is used, then answered from memory, refreshed in the background every 15 s; revoking a key
 *   (DELETE /v1/account/keys/:id) also tells its object at once, so revocation is immediate.
 * - `account:<account id>` holds the account's endpoint names → ids (written by the endpoint routes),
 *   so `model: "<name>"` resolves in one hop.
 */
export class GatewayDirectory extends DurableObject<Env> {
  private key: CachedKey | null | undefined;
  private names: Record<string, string> | undefined;
  private refreshing = false;

  /** The key's account and scopes when `secret` is its secret and it is not revoked. */
  async verify(
    keyId: string,
    secret: string,
  ): Promise<{ accountId: string; scopes: KeyScope[]; expiresAt: number | null } | null> {
    if (this.key === undefined) this.key = (await this.ctx.storage.get<CachedKey>("key")) ?? null;
    if (this.key === null) this.key = await this.fetchKey(keyId);
    else if (Date.now() - this.key.fetchedAt > KEY_REFRESH_MS && !this.refreshing) {
      this.refreshing = true;
      this.ctx.waitUntil(
        this.fetchKey(keyId)
          .then((fresh) => {
            if (fresh) this.key = fresh;
          })
          .finally(() => {
            this.refreshing = false;
          }),
      );
    }
    const key = this.key;
    if (!key || key.revoked || (key.expiresAt != null && key.expiresAt <= Date.now())) return null;
    const given = new TextEncoder().encode(await sha256Hex(secret));
    const stored = new TextEncoder().encode(key.secretHash);
    if (given.byteLength !== stored.byteLength || !crypto.subtle.timingSafeEqual(given, stored)) return null;
    return { accountId: key.accountId, scopes: key.scopes, expiresAt: key.expiresAt ?? null };
  }

  async revoke(): Promise<void> {
    const key = this.key ?? (await this.ctx.storage.get<CachedKey>("key")) ?? null;
    if (key) {
      key.revoked = true;
      this.key = key;
      await this.ctx.storage.put("key", key);
    } else this.key = undefined;
  }

  async setName(name: string, endpointId: string | null): Promise<void> {
    const names = await this.loadNames();
    if (endpointId === null) delete names[name];
    else names[name] = endpointId;
    await this.ctx.storage.put("names", names);
  }

  async resolve(name: string): Promise<string | null> {
    return (await this.loadNames())[name] ?? null;
  }

  async list(): Promise<Record<string, string>> {
    return { ...(await this.loadNames()) };
  }

  private async loadNames(): Promise<Record<string, string>> {
    this.names ??= (await this.ctx.storage.get<Record<string, string>>("names")) ?? {};
    return this.names;
  }

  private async fetchKey(keyId: string): Promise<CachedKey | null> {
    const row = await drizzle(this.env.DB).select().from(apiKeys).where(eq(apiKeys.id, keyId)).get();
    if (!row) return null;
    const scopes = StoredScopes.safeParse(JSON.parse(row.scopes));
    const key: CachedKey = {
      accountId: row.accountId,
      secretHash: row.secretHash,
      scopes: scopes.success ? scopes.data : [],
      revoked: row.revokedAt !== null || this.key?.revoked === true,
      expiresAt: row.expiresAt,
      fetchedAt: Date.now(),
    };
    await this.ctx.storage.put("key", key);
    return key;
  }
}

export function keyDirectory(env: Env, keyId: string): DurableObjectStub<GatewayDirectory> {
  return env.GATEWAY_DIRECTORY.get(env.GATEWAY_DIRECTORY.idFromName(`key:${keyId}`));
}

export function accountDirectory(env: Env, accountId: string): DurableObjectStub<GatewayDirectory> {
  return env.GATEWAY_DIRECTORY.get(env.GATEWAY_DIRECTORY.idFromName(`account:${accountId}`));
}
