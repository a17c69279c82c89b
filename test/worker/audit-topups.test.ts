import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { auditEvents, keyIdOf } from "./audit-support.js";
import { authed, call, jsonInit, signup } from "./support.js";
import { fundedWallet, pay } from "./topup-payer.js";

interface Topup {
  id: string;
  status: string;
  recipient: string;
  mint: string;
  reference: string;
}

async function created(apiKey: string, amount: string): Promise<Topup> {
  const res = await call("/v1/topups", jsonInit("POST", { token: "usdc", amount }, apiKey));
  expect(res.status).toBe(201);
  return res.json();
}

async function until(apiKey: string, id: string, status: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const res = await call(`/v1/topups/${id}`, authed(apiKey));
    expect(res.status).toBe(200);
    if (((await res.json()) as Topup).status === status) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`top-up ${id} never reached ${status}`);
}

// Top-ups are money actions the account can read back: each request (with the key that made it),
// and each payment settled on chain, once, whatever its outcome; a refused request records nothing.
describe("the audit log and top-ups", () => {
  it("records a top-up's creation with its key, and its settlement once: credited, underpaid, wrong mint", async () => {
    const { apiKey } = await signup();
    const keyId = keyIdOf(apiKey);
    // Refused: worth less than 1 µUSD, over the cap, not a number. Nothing recorded.
    for (const amount of ["0.0000001", "2000000", "ten"])
      expect((await call("/v1/topups", jsonInit("POST", { token: "usdc", amount }, apiKey))).status).toBe(
        422,
      );
    expect(await auditEvents(apiKey, "topup.")).toEqual([]);

    const full = await created(apiKey, "3");
    const short = await created(apiKey, "10");
    const wrong = await created(apiKey, "5");
    const usdc = await fundedWallet("usdc", "7");
    const paidFull = await pay(usdc, full, 3_000_000n);
    const paidShort = await pay(usdc, short, 4_000_000n);
    const paidWrong = await pay(await fundedWallet("mrd", "5"), { ...wrong, mint: env.MRD_MINT }, 5_000_000n);
    await until(apiKey, full.id, "credited");
    await until(apiKey, short.id, "underpaid");
    await until(apiKey, wrong.id, "wrong_mint");
    // Read again, several at once: settled already, nothing more recorded.
    await Promise.all([full, short, wrong].map((t) => call(`/v1/topups/${t.id}`, authed(apiKey))));

    const events = await auditEvents(apiKey, "topup.");
    expect(events.filter((e) => e.action === "topup.created")).toEqual(
      [wrong, short, full].map((t) =>
        expect.objectContaining({
          subject: t.id,
          keyId,
          details: expect.objectContaining({ token: "usdc" }),
        }),
      ),
    );
    const settled = events.filter((e) => e.action !== "topup.created");
    expect(settled).toHaveLength(3);
    expect(settled).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: "topup.credited",
          subject: full.id,
          keyId: null,
          details: expect.objectContaining({ signature: paidFull, creditedMicros: 3_000_000 }),
        }),
        expect.objectContaining({
          action: "topup.underpaid",
          subject: short.id,
          details: expect.objectContaining({
            signature: paidShort,
            paidBase: 4_000_000,
            creditedMicros: 4_000_000,
          }),
        }),
        expect.objectContaining({
          action: "topup.wrong_mint",
          subject: wrong.id,
          details: expect.objectContaining({ signature: paidWrong, creditedMicros: 0 }),
        }),
      ]),
    );
  });
});
