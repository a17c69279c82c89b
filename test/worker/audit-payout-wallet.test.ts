import { describe, expect, it } from "vitest";
import { authed, call, jsonInit, signup } from "./support.js";
import { wallet } from "./wallet-support.js";

async function auditActions(
  apiKey: string,
): Promise<{ action: string; subject: string | null; keyId: string | null }[]> {
  const res = await call("/v1/account/audit", authed(apiKey));
  expect(res.status).toBe(200);
  return (
    (await res.json()) as { events: { action: string; subject: string | null; keyId: string | null }[] }
  ).events;
}

async function link(apiKey: string, address: string, sign: (message: string) => Promise<string>) {
  const res = await call("/v1/provider/payout-wallet/challenge", jsonInit("POST", { address }, apiKey));
  expect(res.status).toBe(201);
  const { message } = (await res.json()) as { message: string };
  return call(
    "/v1/provider/payout-wallet",
    jsonInit("PUT", { message, signature: await sign(message) }, apiKey),
  );
}

describe("the audit log and the payout wallet", () => {
  it("records each payout-wallet link with the key that made it; a refused link records nothing", async () => {
    const provider = await signup();
    const first = await wallet();
    const second = await wallet();
    expect((await link(provider.apiKey, first.address, first.sign)).status).toBe(200);
    // Signed by another wallet than the one named: refused, and not recorded.
    expect((await link(provider.apiKey, second.address, first.sign)).status).toBe(401);
    expect((await link(provider.apiKey, second.address, second.sign)).status).toBe(200);
    const keyId = `key_${provider.apiKey.split("_")[1]}`;
    const linked = (await auditActions(provider.apiKey)).filter((e) => e.action === "payout_wallet.linked");
    expect(linked).toEqual([
      expect.objectContaining({ subject: second.address, keyId }),
      expect.objectContaining({ subject: first.address, keyId }),
    ]);
  });
});
