import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { keyDirectory } from "../../src/durable/endpoints/gateway-directory.js";
import { parseApiKey } from "../../src/worker/api-keys.js";
import { verifiedKey } from "../../src/worker/gateway/gateway-copies.js";
import { authenticateKey } from "../../src/worker/require-account.js";
import { authed, call, expectError, jsonInit, signup } from "./support.js";
import { challenge, type TestWallet, wallet, walletSignIn } from "./wallet-support.js";

interface SignedIn {
  accountId: string;
  apiKey: string;
  keyId: string;
  scopes: string[];
  expiresAt: string | null;
  created: boolean;
}

async function sessionOf(w: TestWallet, extra: Record<string, unknown>): Promise<SignedIn> {
  const res = await walletSignIn(w, extra);
  if (res.status !== 201 && res.status !== 200)
    throw new Error(`sign-in answered ${res.status} ${await res.text()}`);
  return res.json();
}

/** Every row of the tables a sign-in or a key creation writes, in order: byte-identical or not. */
async function stored(): Promise<string> {
  const tables = ["accounts", "api_keys", "account_wallets", "siws_nonces", "audit_events"];
  const dumps = await Promise.all(
    tables.map((t) => env.DB.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()),
  );
  return JSON.stringify(dumps.map((d) => d.results));
}

/** A session key's end as D1 holds it, moved to `at` (the clock passing its end). */
async function endAt(keyId: string, at: number): Promise<void> {
  await env.DB.prepare("UPDATE api_keys SET expires_at = ? WHERE id = ?").bind(at, keyId).run();
}

describe("session keys", () => {
  it("a wallet signs in for a scoped session key that works until its end, then answers 401 key_expired", async () => {
    const w = await wallet();
    const before = Date.now();
    const session = await sessionOf(w, { key: "session", expiresInSeconds: 600, scopes: ["read"] });
    expect(session).toMatchObject({ created: true, scopes: ["read"] });
    const end = Date.parse(session.expiresAt ?? "");
    expect(end).toBeGreaterThanOrEqual(before + 600_000);
    expect(end).toBeLessThanOrEqual(Date.now() + 600_000);
    const row = await env.DB.prepare("SELECT scopes, expires_at FROM api_keys WHERE id = ?")
      .bind(session.keyId)
      .first<{ scopes: string; expires_at: number }>();
    expect(row).toEqual({ scopes: '["read"]', expires_at: end });

    // Scoped like any key: it reads, it may not write.
    expect((await call("/v1/balance", authed(session.apiKey))).status).toBe(200);
    await expectError(
      await call("/v1/jobs", jsonInit("POST", { name: "x", image: "busybox" }, session.apiKey)),
      403,
      "forbidden",
    );
    const listed = (await (await call("/v1/account/keys", authed(session.apiKey))).json()) as {
      keys: { id: string; expiresAt: string | null }[];
    };
    expect(listed.keys.find((k) => k.id === session.keyId)?.expiresAt).toBe(session.expiresAt);

    // Another session, never used (so remembered nowhere), whose end has passed.
    const later = await sessionOf(w, { key: "session" });
    expect(later.created).toBe(false);
    expect(later.accountId).toBe(session.accountId);
    expect(later.scopes).toEqual(["full"]);
    // The default life is an hour.
    const laterEnd = Date.parse(later.expiresAt ?? "");
    expect(laterEnd - Date.now()).toBeGreaterThan(3_590_000);
    expect(laterEnd - Date.now()).toBeLessThanOrEqual(3_600_000);
    await endAt(later.keyId, Date.now() - 1);
    const refused = await call("/v1/balance", authed(later.apiKey));
    expect(refused.status).toBe(401);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("key_expired");
    expect(body.error.message).toMatch(/expired at .+Z; sign in again/);

    // Without `key`, a wallet still gets a key that lasts until revoked.
    const lasting = await sessionOf(w, {});
    expect(lasting.expiresAt).toBeNull();
    expect(lasting.scopes).toEqual(["full"]);
    expect((await call("/v1/balance", authed(lasting.apiKey))).status).toBe(200);
  });

  it("an expired session key is refused even while this isolate remembers it verified", async () => {
    const w = await wallet();
    const session = await sessionOf(w, { key: "session", expiresInSeconds: 60 });
    const end = Date.parse(session.expiresAt ?? "");
    const header = `Bearer ${session.apiKey}`;
    // Verified (and remembered) a second before its end ...
    expect(await authenticateKey(env.DB, header, end - 1_000)).toMatchObject({
      accountId: session.accountId,
      keyId: session.keyId,
    });
    expect(await authenticateKey(env.DB, header, end - 500)).toMatchObject({ keyId: session.keyId });
    // ... and refused at its end, inside the 3 s an ordinary key would be remembered.
    await expect(authenticateKey(env.DB, header, end)).rejects.toMatchObject({
      status: 401,
      code: "key_expired",
    });
    await expect(authenticateKey(env.DB, header, end + 1_000)).rejects.toMatchObject({ code: "key_expired" });
  });

  it("a session key signs out by revoking itself, and the inference gateway refuses an expired one", async () => {
    const w = await wallet();
    const session = await sessionOf(w, { key: "session", expiresInSeconds: 900 });
    expect((await call("/v1/balance", authed(session.apiKey))).status).toBe(200);
    const revoked = await call(`/v1/account/keys/${session.keyId}`, authed(session.apiKey, "DELETE"));
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ id: session.keyId, expiresAt: session.expiresAt });
    await expectError(await call("/v1/balance", authed(session.apiKey)), 401, "unauthorized");

    const parsed = parseApiKey(session.apiKey);
    const other = await sessionOf(w, { key: "session", expiresInSeconds: 900 });
    const otherParsed = parseApiKey(other.apiKey);
    if (!parsed || !otherParsed) throw new Error("a session key has the API key format");
    expect(await keyDirectory(env, other.keyId).verify(other.keyId, otherParsed.secret)).toMatchObject({
      accountId: other.accountId,
    });
    const third = await sessionOf(w, { key: "session", expiresInSeconds: 900 });
    const thirdParsed = parseApiKey(third.apiKey);
    if (!thirdParsed) throw new Error("a session key has the API key format");
    await endAt(third.keyId, Date.now() - 1);
    expect(await keyDirectory(env, third.keyId).verify(third.keyId, thirdParsed.secret)).toBeNull();

    // The gateway's isolate copy of a key check: used a moment before the end, refused at it.
    const fourth = await sessionOf(w, { key: "session", expiresInSeconds: 60 });
    const fourthParsed = parseApiKey(fourth.apiKey);
    if (!fourthParsed) throw new Error("a session key has the API key format");
    const pending: Promise<unknown>[] = [];
    const background = (work: Promise<unknown>) => {
      pending.push(work);
    };
    expect(await verifiedKey(env, fourth.keyId, fourthParsed.secret, background)).toMatchObject({
      accountId: fourth.accountId,
    });
    const end = Date.parse(fourth.expiresAt ?? "");
    const clock = vi.spyOn(Date, "now").mockReturnValue(end);
    try {
      expect(await verifiedKey(env, fourth.keyId, fourthParsed.secret, background)).toBeNull();
    } finally {
      clock.mockRestore();
      await Promise.allSettled(pending);
    }
  });

  it("POST /v1/account/keys makes a session key with expiresInSeconds; expired keys do not count as live", async () => {
    const { apiKey } = await signup();
    const res = await call(
      "/v1/account/keys",
      jsonInit("POST", { name: "deploy", scopes: ["read"], expiresInSeconds: 900 }, apiKey),
    );
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; apiKey: string; expiresAt: string | null };
    expect(Date.parse(created.expiresAt ?? "") - Date.now()).toBeGreaterThan(890_000);
    expect((await call("/v1/jobs", authed(created.apiKey))).status).toBe(200);
    const audit = (await (await call("/v1/account/audit", authed(apiKey))).json()) as {
      events: { action: string; subject: string | null; details: Record<string, unknown> }[];
    };
    expect(audit.events.find((e) => e.subject === created.id)?.details).toMatchObject({
      expiresAt: created.expiresAt,
    });
    // A second one, never used (so remembered nowhere), past its end.
    const unused = (await (
      await call("/v1/account/keys", jsonInit("POST", { scopes: ["read"], expiresInSeconds: 60 }, apiKey))
    ).json()) as { id: string; apiKey: string };
    await endAt(unused.id, Date.now() - 1);
    await expectError(await call("/v1/jobs", authed(unused.apiKey)), 401, "key_expired");

    // The sign-up key, the session key and 48 more make 50 live keys: the limit. The expired one is
    // not among them, and once the session key ends too there is room for one more.
    for (let i = 0; i < 48; i += 1) {
      expect((await call("/v1/account/keys", jsonInit("POST", { scopes: ["read"] }, apiKey))).status).toBe(
        201,
      );
    }
    await expectError(
      await call("/v1/account/keys", jsonInit("POST", { scopes: ["read"] }, apiKey)),
      409,
      "too_many_keys",
    );
    await endAt(created.id, Date.now() - 1);
    expect((await call("/v1/account/keys", jsonInit("POST", { scopes: ["read"] }, apiKey))).status).toBe(201);
  });

  it("refuses bad key options with 422 (sign-in) or 400 (keys), storing nothing and leaving the message usable", async () => {
    const w = await wallet();
    const issued = await challenge(w.address);
    const signature = await w.sign(issued.message);
    const before = await stored();
    const bad: Record<string, unknown>[] = [
      { key: "session", expiresInSeconds: 59 },
      { key: "session", expiresInSeconds: 86_401 },
      { key: "session", expiresInSeconds: 90.5 },
      { key: "session", expiresInSeconds: "3600" },
      { expiresInSeconds: 600 },
      { key: "api", expiresInSeconds: 600 },
      { key: "forever" },
      { key: "session", scopes: [] },
      { key: "session", scopes: ["admin"] },
      { key: "session", scopes: ["endpoint:not-an-id"] },
      { scopes: ["read", "read", "read", "read", "read", "read", "read", "read", "read"] },
    ];
    for (const extra of bad) {
      const res = await call(
        "/v1/auth/wallet/verify",
        jsonInit("POST", { message: issued.message, signature, ...extra }),
      );
      expect(res.status, JSON.stringify(extra)).toBe(422);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    }
    expect(await stored()).toBe(before);
    const ok = await call(
      "/v1/auth/wallet/verify",
      jsonInit("POST", { message: issued.message, signature, key: "session", expiresInSeconds: 60 }),
    );
    expect(ok.status).toBe(201);

    const { apiKey } = await signup();
    const beforeKeys = await stored();
    for (const expiresInSeconds of [0, 59, 86_401, -60, 1.5, "1h", null]) {
      await expectError(
        await call("/v1/account/keys", jsonInit("POST", { scopes: ["read"], expiresInSeconds }, apiKey)),
        400,
        "invalid_request",
      );
    }
    expect(await stored()).toBe(beforeKeys);
  });
});
