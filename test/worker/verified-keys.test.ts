import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { authenticateKey } from "../../src/worker/require-account.js";
import {
  forgetKey,
  recalledKey,
  rememberKey,
  tokenHash,
  VERIFIED_KEY_TTL_MS,
} from "../../src/worker/verified-keys.js";
import { authed, call, expectError, signup } from "./support.js";

describe("verified API keys remembered in the isolate", () => {
  it("remembers a verified token, and only that token: another secret for the same key id is refused", async () => {
    const owner = await signup();
    const key = await authenticateKey(env.DB, `Bearer ${owner.apiKey}`);
    expect(recalledKey(await tokenHash(owner.apiKey))).toEqual(key);
    const [prefix, id, secret] = owner.apiKey.split("_");
    const forged = `${prefix}_${id}_${secret?.startsWith("2") ? "3" : "2"}${secret?.slice(1)}`;
    expect(recalledKey(await tokenHash(forged))).toBeUndefined();
    await expectError(await call("/v1/jobs", authed(forged)), 401, "unauthorized");
    expect(recalledKey(await tokenHash(forged))).toBeUndefined();
  });

  it("an entry lasts VERIFIED_KEY_TTL_MS: a key revoked in D1 behind the route's back stops after that", async () => {
    const owner = await signup();
    const hash = await tokenHash(owner.apiKey);
    const key = await authenticateKey(env.DB, `Bearer ${owner.apiKey}`);
    const now = Date.now();
    rememberKey(hash, key, now);
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(now, key.keyId).run();
    expect(recalledKey(hash, now + VERIFIED_KEY_TTL_MS - 1)).toEqual(key);
    expect(recalledKey(hash, now + VERIFIED_KEY_TTL_MS)).toBeUndefined();
    await expect(authenticateKey(env.DB, `Bearer ${owner.apiKey}`)).rejects.toMatchObject({ status: 401 });
  });

  it("a revoked key is never remembered again in this isolate, even by a lookup that read it before", async () => {
    const owner = await signup();
    const hash = await tokenHash(owner.apiKey);
    const key = await authenticateKey(env.DB, `Bearer ${owner.apiKey}`);
    forgetKey(key.keyId);
    expect(recalledKey(hash)).toBeUndefined();
    rememberKey(hash, key);
    expect(recalledKey(hash)).toBeUndefined();
  });
});
