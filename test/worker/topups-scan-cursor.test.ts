import { env } from "cloudflare:workers";
import { address } from "@solana/kit";
import { describe, expect, it } from "vitest";
import { MAX_FETCHES_PER_SCAN } from "../../src/worker/topups.js";
import { balance, signup } from "./support.js";
import {
  confirmed,
  createTopup,
  fundedWallet,
  pay,
  paymentRows,
  readTopup,
  rpc,
  sendNaming,
} from "./topup-support.js";

async function cursorOf(id: string): Promise<string | null> {
  const row = await env.DB.prepare("SELECT scanned_through AS c FROM topups WHERE id = ?")
    .bind(id)
    .first<{ c: string | null }>();
  return row?.c ?? null;
}

// A reference is public (it is in the Solana Pay URL), so anyone may crowd it with transactions that
// pay nothing. A deployed Worker makes a bounded number of subrequests per invocation: a scan must
// fetch a bounded number of transactions, and the next scan go on from where it stopped, never
// fetching again what it settled, until it reaches the payment.
describe("a top-up's scan works through a crowded reference across reads", () => {
  it("fetches at most its bound per read, moves its cursor, and credits the payment behind 100 others", async () => {
    const { apiKey } = await signup();
    const before = (await balance(apiKey)).availableMicros;
    const topup = await createTopup(apiKey, { token: "usdc", amount: "2" });
    const payer = await fundedWallet("usdc", "3");
    await confirmed(await sendNaming(payer, topup.reference, 100));
    const paid = await pay(payer, topup, 2_000_000n);
    await confirmed(paid);
    const listed = await rpc.getSignaturesForAddress(address(topup.reference), { limit: 1000 }).send();
    const oldestFirst = listed.map((entry) => entry.signature).reverse();
    expect(oldestFirst).toHaveLength(101);
    expect(oldestFirst.at(-1)).toBe(paid);

    // Each read settles the next 40 foreign transactions and stops short of the payment.
    expect(await cursorOf(topup.id)).toBeNull();
    expect((await readTopup(apiKey, topup.id)).status).toBe("pending");
    expect(MAX_FETCHES_PER_SCAN).toBe(40);
    expect(await cursorOf(topup.id)).toBe(oldestFirst[39]);
    expect((await readTopup(apiKey, topup.id)).status).toBe("pending");
    expect(await cursorOf(topup.id)).toBe(oldestFirst[79]);
    expect(await paymentRows(paid)).toBe(0);

    // The third reaches it: credited once, the cursor at the newest signature.
    const credited = await readTopup(apiKey, topup.id);
    expect(credited).toMatchObject({ status: "credited", signature: paid });
    expect(await cursorOf(topup.id)).toBe(paid);
    expect(await paymentRows(paid)).toBe(1);
    expect((await balance(apiKey)).availableMicros - before).toBe(2_000_000);

    // Read again: nothing newer, nothing more; a further payment is still found past the cursor.
    expect((await readTopup(apiKey, topup.id)).status).toBe("credited");
    expect(await cursorOf(topup.id)).toBe(paid);
    const again = await pay(payer, topup, 1_000_000n);
    await confirmed(again);
    expect((await readTopup(apiKey, topup.id)).signature).toBe(again);
    expect(await cursorOf(topup.id)).toBe(again);
    expect(await paymentRows(paid)).toBe(1);
    expect(await paymentRows(again)).toBe(1);
    expect((await balance(apiKey)).availableMicros - before).toBe(3_000_000);
  });
});
