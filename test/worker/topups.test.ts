import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/worker/app.js";
import worker from "../../src/worker/index.js";
import { authed, balance, call, expectError, jsonInit, signup } from "./support.js";
import {
  confirmed,
  createTopup,
  creditedTransfers,
  fundedWallet,
  pay,
  paymentRows,
  readTopup,
  type Topup,
  until,
} from "./topup-support.js";

describe("top-ups paid on Solana", () => {
  it("gives a Solana Pay request and QR code, and credits a payment found by its reference exactly once", async () => {
    const { id: accountId, apiKey } = await signup();
    const before = await balance(apiKey);
    const topup = await createTopup(apiKey, { token: "usdc", amount: "25.5" });
    expect(topup).toMatchObject({
      status: "pending",
      amount: "25.5",
      credit: "25.50",
      mint: env.USDC_MINT,
      signature: null,
    });
    const url = new URL(topup.url);
    expect(url.protocol).toBe("solana:");
    expect(url.pathname).toBe(topup.recipient);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      amount: "25.5",
      "spl-token": env.USDC_MINT,
      reference: topup.reference,
      label: "Meridian",
      memo: topup.id,
    });
    expect(topup.qrSvg).toMatch(/^<svg[^>]*>.*<\/svg>$/s);
    const qr = await call(`/v1/topups/${topup.id}/qr.svg`, authed(apiKey));
    expect(qr.headers.get("content-type")).toBe("image/svg+xml");

    const payer = await fundedWallet("usdc", "30");
    const signature = await pay(payer, topup, 25_500_000n);
    const credited = await until(apiKey, topup.id, "credited");
    expect(credited.signature).toBe(signature);
    expect((await balance(apiKey)).availableMicros - before.availableMicros).toBe(25_500_000);
    // The same signature seen again, by several readers at once: one credit.
    await Promise.all([
      readTopup(apiKey, topup.id),
      readTopup(apiKey, topup.id),
      readTopup(apiKey, topup.id),
    ]);
    expect(await creditedTransfers(accountId)).toBe(1);
    expect((await balance(apiKey)).availableMicros - before.availableMicros).toBe(25_500_000);
  });

  it("credits a signature once when concurrent requests settle it", async () => {
    const { id: accountId, apiKey } = await signup();
    const topup = await createTopup(apiKey, { token: "usdc", amount: "3" });
    const payer = await fundedWallet("usdc", "3");
    await confirmed(await pay(payer, topup, 3_000_000n));
    // A second Worker instance settling the same payment: the unique signature refuses the second batch.
    const results = await Promise.all([1, 2, 3, 4].map(() => call(`/v1/topups/${topup.id}`, authed(apiKey))));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    await until(apiKey, topup.id, "credited");
    expect(await creditedTransfers(accountId)).toBe(1);
  });

  it("credits one transaction once even when it names a second top-up's reference too", async () => {
    const { id: accountId, apiKey } = await signup();
    const before = await balance(apiKey);
    const first = await createTopup(apiKey, { token: "usdc", amount: "2" });
    const second = await createTopup(apiKey, { token: "usdc", amount: "2" });
    const payer = await fundedWallet("usdc", "2");
    const paid = await pay(payer, first, 2_000_000n, [second.reference]);
    await confirmed(paid);
    expect((await until(apiKey, first.id, "credited")).signature).toBe(paid);
    // The second top-up finds the same signature by its reference: already spent, not credited again.
    expect((await readTopup(apiKey, second.id)).status).toBe("pending");
    expect(await paymentRows(paid)).toBe(1);
    expect(await creditedTransfers(accountId)).toBe(1);
    expect((await balance(apiKey)).availableMicros - before.availableMicros).toBe(2_000_000);
  });

  it("credits a paid top-up nobody reads, from the cron, once", async () => {
    const { id: accountId, apiKey } = await signup();
    const topup = await createTopup(apiKey, { token: "usdc", amount: "4" });
    const payer = await fundedWallet("usdc", "4");
    const signature = await pay(payer, topup, 4_000_000n);
    const status = async () =>
      (await env.DB.prepare("SELECT status, signature FROM topups WHERE id = ?")
        .bind(topup.id)
        .first<{ status: string; signature: string | null }>()) ?? { status: "missing", signature: null };
    for (let i = 0; i < 100 && (await status()).status !== "credited"; i++) {
      const ctx = createExecutionContext();
      worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
      await waitOnExecutionContext(ctx);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await status()).toEqual({ status: "credited", signature });
    // More cron passes, then a read: still one credit.
    const ctx = createExecutionContext();
    worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await readTopup(apiKey, topup.id)).status).toBe("credited");
    expect(await creditedTransfers(accountId)).toBe(1);
  });

  it("converts MRD at the configured rate, and waits for finalized where configured (pending → confirmed → credited)", async () => {
    const { apiKey } = await signup();
    const before = await balance(apiKey);
    const topup = await createTopup(apiKey, { token: "mrd", amount: "10" });
    expect(topup).toMatchObject({ mint: env.MRD_MINT, credit: "1.00" });
    const payer = await fundedWallet("mrd", "10");
    await pay(payer, topup, 10_000_000n);
    const strict = { ...env, TOPUP_COMMITMENT: "finalized" };
    const sequence: string[] = [];
    for (let i = 0; i < 400 && sequence.at(-1) !== "credited"; i++) {
      const res = await app.request(`http://meridian.test/v1/topups/${topup.id}`, authed(apiKey), strict);
      const status = ((await res.json()) as Topup).status;
      if (sequence.at(-1) !== status) sequence.push(status);
      // Seen but not final: nothing credited yet.
      if (status === "confirmed")
        expect((await balance(apiKey)).availableMicros).toBe(before.availableMicros);
      if (status !== "credited") await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(sequence.slice(-2)).toEqual(["confirmed", "credited"]);
    expect(["pending,confirmed,credited", "confirmed,credited"]).toContain(sequence.join(","));
    expect((await balance(apiKey)).availableMicros - before.availableMicros).toBe(1_000_000);
  });

  it("records a short payment and a wrong-mint payment, crediting only what was paid in the right mint", async () => {
    const { apiKey } = await signup();
    const before = await balance(apiKey);
    const short = await createTopup(apiKey, { token: "usdc", amount: "10" });
    const payer = await fundedWallet("usdc", "4");
    await pay(payer, short, 4_000_000n);
    const underpaid = await until(apiKey, short.id, "underpaid");
    expect(underpaid.note).toContain("paid 4 of 10");
    expect((await balance(apiKey)).availableMicros - before.availableMicros).toBe(4_000_000);

    const wrong = await createTopup(apiKey, { token: "usdc", amount: "5" });
    const mrdPayer = await fundedWallet("mrd", "5");
    await pay(mrdPayer, { ...wrong, mint: env.MRD_MINT }, 5_000_000n);
    const wrongMint = await until(apiKey, wrong.id, "wrong_mint");
    expect(wrongMint.note).toContain("nothing credited");
    expect((await balance(apiKey)).availableMicros - before.availableMicros).toBe(4_000_000);

    // A transaction naming the reference that pays someone else credits nothing.
    const elsewhere = await createTopup(apiKey, { token: "usdc", amount: "1" });
    const other = await fundedWallet("usdc", "1");
    const misdirected = await pay(other, { ...elsewhere, recipient: other.address }, 1_000_000n);
    await confirmed(misdirected);
    expect((await readTopup(apiKey, elsewhere.id)).status).toBe("pending");
    expect(await paymentRows(misdirected)).toBe(0);
    expect((await balance(apiKey)).availableMicros - before.availableMicros).toBe(4_000_000);
  });

  it("refuses an unknown token, a non-positive or over-precise amount with 422, storing nothing", async () => {
    const { apiKey } = await signup();
    const count = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM topups").first<{ n: number }>())?.n;
    const before = await count();
    for (const body of [
      { token: "btc", amount: "1" },
      { token: "usdc", amount: "0" },
      { token: "usdc", amount: "-1" },
      { token: "usdc", amount: "1.0000001" },
      { token: "usdc", amount: 5 },
      { token: "usdc", amount: "1", extra: true },
    ]) {
      const res = await call("/v1/topups", jsonInit("POST", body, apiKey));
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    await expectError(await call("/v1/topups/top_nope", authed(apiKey)), 404, "topup_not_found");
    expect(await count()).toBe(before);
  });
});
