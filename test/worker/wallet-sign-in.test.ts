import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { authed, call, expectError, jsonInit, signup } from "./support.js";
import { challenge, wallet } from "./wallet-support.js";

async function rowCounts(): Promise<string> {
  const tables = ["accounts", "api_keys", "account_wallets", "siws_nonces"];
  const counts = await Promise.all(
    tables.map((t) => env.DB.prepare(`SELECT count(*) AS n FROM ${t}`).first<{ n: number }>()),
  );
  return counts.map((c, i) => `${tables[i]}=${c?.n}`).join(" ");
}

describe("Sign In With Solana", () => {
  it("issues a message with every field, signs in creating the account, and signs in again to the same one", async () => {
    const w = await wallet();
    const issued = await challenge(w.address);
    expect(issued.fields).toMatchObject({
      domain: "meridian.test",
      address: w.address,
      uri: "http://meridian.test",
      version: "1",
      chainId: "localnet",
    });
    expect(issued.message).toContain(
      `meridian.test wants you to sign in with your Solana account:\n${w.address}\n`,
    );
    expect(issued.message).toMatch(/\nNonce: \w{8,}\nIssued At: .+Z\nExpiration Time: .+Z$/);
    const first = await call(
      "/v1/auth/wallet/verify",
      jsonInit("POST", { message: issued.message, signature: await w.sign(issued.message) }),
    );
    expect(first.status).toBe(201);
    const signedIn = (await first.json()) as {
      accountId: string;
      apiKey: string;
      created: boolean;
      address: string;
    };
    expect(signedIn).toMatchObject({ created: true, address: w.address });
    expect((await call("/v1/balance", authed(signedIn.apiKey))).status).toBe(200);
    const again = await challenge(w.address);
    const second = await call(
      "/v1/auth/wallet/verify",
      jsonInit("POST", { message: again.message, signature: await w.sign(again.message) }),
    );
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({ accountId: signedIn.accountId, created: false });
  });

  it("refuses a reused, expired, altered, other-domain or other-key message with 401, changing nothing", async () => {
    const w = await wallet();
    const other = await wallet();
    const used = await challenge(w.address);
    const usedSig = await w.sign(used.message);
    expect(
      (await call("/v1/auth/wallet/verify", jsonInit("POST", { message: used.message, signature: usedSig })))
        .status,
    ).toBe(201);
    const before = await rowCounts();
    await expectError(
      await call("/v1/auth/wallet/verify", jsonInit("POST", { message: used.message, signature: usedSig })),
      401,
      "siws_unknown_message",
    );
    expect(await rowCounts()).toBe(before);

    const byOther = await challenge(w.address);
    const afterIssue = await rowCounts();
    await expectError(
      await call(
        "/v1/auth/wallet/verify",
        jsonInit("POST", { message: byOther.message, signature: await other.sign(byOther.message) }),
      ),
      401,
      "siws_bad_signature",
    );
    const altered = byOther.message.replace(
      "Sign in to Meridian.",
      "Sign in to Meridian and give away everything.",
    );
    await expectError(
      await call(
        "/v1/auth/wallet/verify",
        jsonInit("POST", { message: altered, signature: await w.sign(altered) }),
      ),
      401,
      "siws_unknown_message",
    );
    const elsewhere = byOther.message.replace(/^meridian\.test/, "evil.example");
    await expectError(
      await call(
        "/v1/auth/wallet/verify",
        jsonInit("POST", { message: elsewhere, signature: await w.sign(elsewhere) }),
      ),
      401,
      "siws_wrong_domain",
    );
    expect(await rowCounts()).toBe(afterIssue);

    const expiring = await challenge(w.address);
    await env.DB.prepare("UPDATE siws_nonces SET expires_at = ? WHERE message = ?")
      .bind(Date.now() - 1, expiring.message)
      .run();
    const beforeExpired = await rowCounts();
    await expectError(
      await call(
        "/v1/auth/wallet/verify",
        jsonInit("POST", { message: expiring.message, signature: await w.sign(expiring.message) }),
      ),
      401,
      "siws_expired",
    );
    expect(await rowCounts()).toBe(beforeExpired);
  });

  it("refuses a challenge for an address that is not one with 422", async () => {
    await expectError(
      await call("/v1/auth/wallet/challenge", jsonInit("POST", { address: "not-a-wallet" })),
      422,
      "invalid_request",
    );
    await expectError(
      await call("/v1/auth/wallet/challenge", jsonInit("POST", { address: "1111" })),
      422,
      "invalid_request",
    );
    await expectError(await call("/v1/auth/wallet/verify", jsonInit("POST", "{oops")), 400, "invalid_json");
  });

  it("links a provider's payout wallet with the same proof, only for the account that asked", async () => {
    const provider = await signup();
    const intruder = await signup();
    const w = await wallet();
    await expectError(
      await call("/v1/provider/payout-wallet", authed(provider.apiKey)),
      404,
      "no_payout_wallet",
    );
    await expectError(
      await call(
        "/v1/provider/payout-wallet/challenge",
        jsonInit("POST", { address: "0OIl-not-base58" }, provider.apiKey),
      ),
      422,
      "invalid_request",
    );
    const res = await call(
      "/v1/provider/payout-wallet/challenge",
      jsonInit("POST", { address: w.address }, provider.apiKey),
    );
    expect(res.status).toBe(201);
    const issued = (await res.json()) as { message: string };
    expect(issued.message).toContain("Link this wallet to receive Meridian payouts.");
    const signature = await w.sign(issued.message);
    await expectError(
      await call(
        "/v1/provider/payout-wallet",
        jsonInit("PUT", { message: issued.message, signature }, intruder.apiKey),
      ),
      401,
      "siws_unknown_message",
    );
    // A payout-link message cannot sign in either.
    await expectError(
      await call("/v1/auth/wallet/verify", jsonInit("POST", { message: issued.message, signature })),
      401,
      "siws_unknown_message",
    );
    const linked = await call(
      "/v1/provider/payout-wallet",
      jsonInit("PUT", { message: issued.message, signature }, provider.apiKey),
    );
    expect(linked.status).toBe(200);
    expect(await linked.json()).toMatchObject({ accountId: provider.id, address: w.address });
    expect(await (await call("/v1/provider/payout-wallet", authed(provider.apiKey))).json()).toMatchObject({
      address: w.address,
    });
  });
});
