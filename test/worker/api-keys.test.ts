import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { authed, call, expectError, jsonInit, signup } from "./support.js";

interface KeyCreated {
  id: string;
  apiKey: string;
  scopes: string[];
  name: string | null;
}

async function createKey(apiKey: string, body: unknown): Promise<KeyCreated> {
  const res = await call("/v1/account/keys", jsonInit("POST", body, apiKey));
  if (res.status !== 201) throw new Error(`create key answered ${res.status} ${await res.text()}`);
  return res.json();
}

async function auditActions(
  apiKey: string,
): Promise<{ action: string; subject: string | null; keyId: string | null }[]> {
  const res = await call("/v1/account/audit", authed(apiKey));
  expect(res.status).toBe(200);
  return (
    (await res.json()) as { events: { action: string; subject: string | null; keyId: string | null }[] }
  ).events;
}

describe("API keys: list, create with scopes, revoke; the audit log", () => {
  it("lists keys without secrets and creates one shown once, stored as a hash", async () => {
    const { apiKey } = await signup();
    const created = await createKey(apiKey, { name: "ci", scopes: ["read"] });
    expect(created).toMatchObject({ name: "ci", scopes: ["read"] });
    expect(created.apiKey).toMatch(/^mrd_/);
    const list = (await (await call("/v1/account/keys", authed(apiKey))).json()) as {
      keys: Record<string, unknown>[];
    };
    expect(list.keys).toHaveLength(2);
    expect(list.keys.map((key) => key.scopes)).toEqual([["read"], ["full"]]);
    const text = JSON.stringify(list);
    expect(text).not.toContain(created.apiKey.split("_")[2]);
    expect(text).not.toContain("secret");
  });

  it("a read-only key reads but cannot submit, change limits or manage keys", async () => {
    const { apiKey } = await signup();
    const read = await createKey(apiKey, { scopes: ["read"] });
    expect((await call("/v1/jobs", authed(read.apiKey))).status).toBe(200);
    expect((await call("/v1/balance", authed(read.apiKey))).status).toBe(200);
    await expectError(
      await call("/v1/jobs", jsonInit("POST", { name: "x", image: "busybox" }, read.apiKey)),
      403,
      "forbidden",
    );
    await expectError(
      await call("/v1/account/limits", jsonInit("PUT", { monthlyCap: "1.00" }, read.apiKey)),
      403,
      "forbidden",
    );
    await expectError(
      await call("/v1/account/keys", jsonInit("POST", { scopes: ["full"] }, read.apiKey)),
      403,
      "forbidden",
    );
  });

  it("a provider key reaches only the provider's surface; an endpoint key only its endpoint", async () => {
    const { apiKey } = await signup();
    const provider = await createKey(apiKey, { scopes: ["provider"] });
    expect((await call("/v1/provider/earnings", authed(provider.apiKey))).status).toBe(200);
    expect((await call("/v1/nodes", authed(provider.apiKey))).status).toBe(200);
    await expectError(await call("/v1/jobs", authed(provider.apiKey)), 403, "forbidden");
    await expectError(await call("/v1/ledger", authed(provider.apiKey)), 403, "forbidden");
    const endpoint = await createKey(apiKey, { scopes: ["endpoint:ep_01jzzzzzzzzzzzzzzzzzzzzzzz"] });
    await expectError(await call("/v1/jobs", authed(endpoint.apiKey)), 403, "forbidden");
    await expectError(await call("/v1/balance", authed(endpoint.apiKey)), 403, "forbidden");
  });

  it("refuses unknown scopes, empty scope lists and unknown fields", async () => {
    const { apiKey } = await signup();
    for (const body of [
      { scopes: ["admin"] },
      { scopes: [] },
      { scopes: ["read"], owner: "x" },
      { scopes: ["endpoint:x"] },
    ]) {
      await expectError(
        await call("/v1/account/keys", jsonInit("POST", body, apiKey)),
        400,
        "invalid_request",
      );
    }
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM api_keys").first<{ n: number }>();
    expect(rows?.n).toBeGreaterThan(0);
  });

  it("a revoked key stops working at once; another account's key answers 404", async () => {
    const owner = await signup();
    const other = await signup();
    const key = await createKey(owner.apiKey, { scopes: ["read"] });
    await expectError(
      await call(`/v1/account/keys/${key.id}`, authed(other.apiKey, "DELETE")),
      404,
      "not_found",
    );
    expect((await call("/v1/jobs", authed(key.apiKey))).status).toBe(200);
    const revoked = await call(`/v1/account/keys/${key.id}`, authed(owner.apiKey, "DELETE"));
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revokedAt: string | null }).revokedAt).not.toBeNull();
    await expectError(await call("/v1/jobs", authed(key.apiKey)), 401, "unauthorized");
    // Revoking again is harmless and records nothing new.
    expect((await call(`/v1/account/keys/${key.id}`, authed(owner.apiKey, "DELETE"))).status).toBe(200);
    await expectError(
      await call("/v1/account/keys/not-a-key", authed(owner.apiKey, "DELETE")),
      400,
      "invalid_request",
    );
  });

  it("the audit log records sign-up, key and limit changes with the key that did them, only for its account", async () => {
    const owner = await signup();
    const other = await signup();
    const key = await createKey(owner.apiKey, { name: "grafana", scopes: ["read"] });
    await call(`/v1/account/keys/${key.id}`, authed(owner.apiKey, "DELETE"));
    await call(`/v1/account/keys/${key.id}`, authed(owner.apiKey, "DELETE"));
    expect(
      (await call("/v1/account/limits", jsonInit("PUT", { monthlyCap: "50.00" }, owner.apiKey))).status,
    ).toBe(200);
    const credit = await call("/v1/credits", {
      ...jsonInit("POST", { accountId: owner.id, amount: "2.00" }),
      headers: { "content-type": "application/json", authorization: "Bearer test-operator-token" },
    });
    expect(credit.status).toBe(201);
    const events = await auditActions(owner.apiKey);
    expect(events.map((event) => event.action)).toEqual([
      "credit.granted",
      "limits.updated",
      "key.revoked",
      "key.created",
      "account.created",
    ]);
    const ownerKeyId = `key_${owner.apiKey.split("_")[1]}`;
    expect(events.find((event) => event.action === "key.created")).toMatchObject({
      subject: key.id,
      keyId: ownerKeyId,
    });
    const theirs = await auditActions(other.apiKey);
    expect(theirs.map((event) => event.action)).toEqual(["account.created"]);
    const page = (await (await call("/v1/account/audit?limit=2", authed(owner.apiKey))).json()) as {
      events: unknown[];
      nextCursor: string;
    };
    expect(page.events).toHaveLength(2);
    const next = (await (
      await call(`/v1/account/audit?limit=10&cursor=${page.nextCursor}`, authed(owner.apiKey))
    ).json()) as {
      events: { action: string }[];
    };
    expect(next.events.map((event) => event.action)).toEqual([
      "key.revoked",
      "key.created",
      "account.created",
    ]);
    await expectError(await call("/v1/account/audit?limit=0", authed(owner.apiKey)), 400, "invalid_request");
  });
});
