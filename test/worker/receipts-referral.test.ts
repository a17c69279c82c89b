import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { checkReceiptOffline, type ReceiptView } from "../../src/shared/receipts/receipt-view.js";
import { REWARD, referralOf, refundAttempt, settledJob, signupWith } from "./referral-support.js";
import { runReceipts } from "./storage-receipt-support.js";
import { authed, call, drainAgents, h100Numbered, hardware, ownedAgent, signup } from "./support.js";

async function transferIds(accountId: string, kind: string): Promise<string[]> {
  const rows = await env.DB.prepare(
    "SELECT id FROM ledger_transfers WHERE kind = ? AND account_id = ? ORDER BY created_at, id",
  )
    .bind(kind, accountId)
    .all<{ id: string }>();
  return rows.results.map((r) => r.id);
}

// Issue 10: "Nothing a user is charged and no payout a provider receives lacks a receipt." A
// referral reward is money into the referrer's balance; its reversal, when the referred charge is
// refunded, is money taken back out of it. Both get a signed receipt only the referrer can read.
describe("referral rewards have receipts", () => {
  afterEach(drainAgents);

  it("signs a receipt for a reward and for its reversal, readable and checkable by the referrer alone", async () => {
    const referrer = await signup();
    const { view: referral } = await referralOf(referrer.apiKey, "POST");
    const referred = (await (await signupWith({ referralCode: referral.code })).json()) as {
      id: string;
      apiKey: string;
    };
    const { agent } = await ownedAgent(hardware([h100Numbered(7_400)]));
    const { attemptId } = await settledJob(referred.apiKey, agent);
    await runReceipts();

    const [rewardId] = await transferIds(referrer.id, "referral_reward");
    if (!rewardId) throw new Error("no reward transfer");
    const res = await call(`/v1/receipts/${rewardId}`, authed(referrer.apiKey));
    expect(res.status).toBe(200);
    const reward = (await res.json()) as ReceiptView;
    expect(reward.receipt).toEqual({
      v: 1,
      kind: "referral",
      transferId: rewardId,
      accountId: referrer.id,
      code: referral.code,
      direction: "reward",
      amountMicros: REWARD,
      at: expect.any(Number),
    });
    // It names the code, never the referred account, its job or its attempt.
    expect(JSON.stringify(reward.receipt)).not.toContain(referred.id);
    expect(JSON.stringify(reward.receipt)).not.toContain(attemptId);
    expect((await checkReceiptOffline(reward)).filter((c) => !c.ok)).toEqual([]);
    // Not the referred account's, nor anyone else's, to read.
    expect((await call(`/v1/receipts/${rewardId}`, authed(referred.apiKey))).status).toBe(404);
    expect((await call(`/v1/receipts/${rewardId}`, authed((await signup()).apiKey))).status).toBe(404);

    // The referred charge is refunded: the reward goes back, and that has its receipt too.
    await refundAttempt(referred.apiKey, attemptId);
    await runReceipts();
    const [reversalId] = await transferIds(referrer.id, "referral_reward_reversal");
    if (!reversalId) throw new Error("no reversal transfer");
    const back = (await (
      await call(`/v1/receipts/${reversalId}`, authed(referrer.apiKey))
    ).json()) as ReceiptView;
    expect(back.receipt).toMatchObject({
      kind: "referral",
      transferId: reversalId,
      accountId: referrer.id,
      code: referral.code,
      direction: "reversal",
      amountMicros: REWARD,
    });
    expect((await checkReceiptOffline(back)).filter((c) => !c.ok)).toEqual([]);

    // A receipts run again mints nothing new for either.
    await runReceipts();
    const count = await env.DB.prepare("SELECT count(*) AS n FROM receipts WHERE subject_id IN (?, ?)")
      .bind(rewardId, reversalId)
      .first<{ n: number }>();
    expect(count?.n).toBe(2);
  });
});
