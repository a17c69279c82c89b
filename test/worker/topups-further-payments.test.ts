import { env } from "cloudflare:workers";
import { address } from "@solana/kit";
import { describe, expect, it } from "vitest";
import { sweepPendingTopups } from "../../src/worker/topup-sweep.js";
import { balance, signup } from "./support.js";
import {
  confirmed,
  createTopup,
  creditedTransfers,
  fundedWallet,
  pay,
  paymentRows,
  readTopup,
  rpc,
  sendNaming,
  until,
} from "./topup-support.js";

// Issue 10: "A payment of the wrong mint or less than requested is recorded and not credited as
// requested (it says so on the top-up)". What a user then does is pay again to the same request;
// that payment, and one made twice, must be counted too, never left on chain uncredited. Each is
// paid by an independent client (kit and the SPL token program's builder), as in topups.test.ts.
describe("further payments to one top-up's reference", () => {
  it("credits a second payment that makes up a short one: underpaid → credited, each signature once", async () => {
    const { id: accountId, apiKey } = await signup();
    const before = (await balance(apiKey)).availableMicros;
    const topup = await createTopup(apiKey, { token: "usdc", amount: "10" });
    const payer = await fundedWallet("usdc", "10");
    const first = await pay(payer, topup, 4_000_000n);
    const short = await until(apiKey, topup.id, "underpaid");
    expect(short).toMatchObject({ signature: first, paid: "4" });
    expect(short.note).toContain("paid 4 of 10 in 1 payment: credited 4.00 USD");
    expect((await balance(apiKey)).availableMicros - before).toBe(4_000_000);

    const second = await pay(payer, topup, 6_000_000n);
    const made = await until(apiKey, topup.id, "credited");
    expect(made).toMatchObject({ signature: second, paid: "10" });
    expect(made.note).toContain("paid 10 of 10 in 2 payments: credited 10.00 USD");
    // Read again, swept again: still two payments, two credits, 10 USD in all.
    await readTopup(apiKey, topup.id);
    await sweepPendingTopups(env, Date.now());
    expect(await paymentRows(first)).toBe(1);
    expect(await paymentRows(second)).toBe(1);
    expect(await creditedTransfers(accountId)).toBe(2);
    expect((await balance(apiKey)).availableMicros - before).toBe(10_000_000);
  });

  it("credits a right-mint payment after a wrong-mint one, and still says the wrong one credited nothing", async () => {
    const { apiKey } = await signup();
    const before = (await balance(apiKey)).availableMicros;
    const topup = await createTopup(apiKey, { token: "usdc", amount: "5" });
    const mrdPayer = await fundedWallet("mrd", "5");
    const wrong = await pay(mrdPayer, { ...topup, mint: env.MRD_MINT }, 5_000_000n);
    expect((await until(apiKey, topup.id, "wrong_mint")).note).toContain("nothing credited");
    const payer = await fundedWallet("usdc", "5");
    const right = await pay(payer, topup, 5_000_000n);
    const credited = await until(apiKey, topup.id, "credited");
    expect(credited.signature).toBe(right);
    expect(credited.note).toContain(`1 payment in mint ${env.MRD_MINT}`);
    expect(credited.note).toContain("nothing credited for it");
    expect(await paymentRows(wrong)).toBe(1);
    expect((await balance(apiKey)).availableMicros - before).toBe(5_000_000);
  });

  it("credits a request paid twice, and a payment above the amount, for all that was paid", async () => {
    const { apiKey } = await signup();
    const before = (await balance(apiKey)).availableMicros;
    const topup = await createTopup(apiKey, { token: "usdc", amount: "1" });
    const payer = await fundedWallet("usdc", "4");
    await pay(payer, topup, 1_000_000n);
    expect((await until(apiKey, topup.id, "credited")).note).toBeNull();
    const again = await pay(payer, topup, 1_000_000n);
    await confirmed(again);
    const twice = await readTopup(apiKey, topup.id);
    expect(twice).toMatchObject({ status: "credited", signature: again, paid: "2" });
    expect(twice.note).toContain("paid 2 of 1 in 2 payments: credited 2.00 USD, all that was paid");

    const over = await createTopup(apiKey, { token: "usdc", amount: "1" });
    await pay(payer, over, 2_000_000n);
    expect((await until(apiKey, over.id, "credited")).note).toContain("paid 2 of 1 in 1 payment");
    expect((await balance(apiKey)).availableMicros - before).toBe(4_000_000);
  });

  it("the cron finds a further payment to an underpaid top-up nobody reads", async () => {
    const { apiKey } = await signup();
    const before = (await balance(apiKey)).availableMicros;
    const topup = await createTopup(apiKey, { token: "usdc", amount: "3" });
    const payer = await fundedWallet("usdc", "3");
    await pay(payer, topup, 1_000_000n);
    await until(apiKey, topup.id, "underpaid");
    const rest = await pay(payer, topup, 2_000_000n);
    await confirmed(rest);
    expect(await sweepPendingTopups(env, Date.now())).toBeGreaterThanOrEqual(1);
    const row = await env.DB.prepare("SELECT status, signature FROM topups WHERE id = ?")
      .bind(topup.id)
      .first<{ status: string; signature: string }>();
    expect(row).toEqual({ status: "credited", signature: rest });
    expect((await balance(apiKey)).availableMicros - before).toBe(3_000_000);
  });

  it("finds a payment that 150 later transactions naming its reference came after", async () => {
    const { apiKey } = await signup();
    const before = (await balance(apiKey)).availableMicros;
    const topup = await createTopup(apiKey, { token: "usdc", amount: "2" });
    const payer = await fundedWallet("usdc", "2");
    const paid = await pay(payer, topup, 2_000_000n);
    // Before anyone reads the top-up, 150 transactions name its reference and pay nothing: one
    // page of 100 newest signatures no longer reaches the payment.
    await confirmed(await sendNaming(payer, topup.reference, 150));
    const page = await rpc.getSignaturesForAddress(address(topup.reference), { limit: 100 }).send();
    expect(page.map((entry) => entry.signature)).not.toContain(paid);
    const credited = await until(apiKey, topup.id, "credited");
    expect(credited).toMatchObject({ signature: paid, paid: "2" });
    expect(await paymentRows(paid)).toBe(1);
    expect((await balance(apiKey)).availableMicros - before).toBe(2_000_000);
  });
});
