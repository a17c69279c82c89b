import { env } from "cloudflare:workers";
import * as ed from "@noble/ed25519";
import { afterEach, describe, expect, it } from "vitest";
import { runBatch } from "../../src/ledger/ledger-db.js";
import { referralRewardStatements } from "../../src/ledger/referrals.js";
import { encodeBase58 } from "../../src/shared/base58.js";
import { balances, ledgerDb, ledgerSum } from "./ledger-support.js";
import { REWARD, referralOf, refundAttempt, settledJob, signupWith } from "./referral-support.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  h100Numbered,
  hardware,
  jsonInit,
  ownedAgent,
  signup,
} from "./support.js";

/** Every row of the tables a sign-up or a settlement writes, to compare before and after. */
async function stored(): Promise<string> {
  const tables = [
    "accounts",
    "api_keys",
    "audit_events",
    "account_wallets",
    "siws_nonces",
    "referral_codes",
    "referrals",
    "ledger_accounts",
  ];
  const dump: Record<string, unknown[]> = {};
  for (const table of [...tables, "ledger_transfers"]) {
    dump[table] = (await env.DB.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all()).results;
  }
  return JSON.stringify(dump);
}

async function rewardsOf(accountId: string): Promise<{ amount_micros: number; debit_account_id: string }[]> {
  const rows = await env.DB.prepare(
    "SELECT * FROM ledger_transfers WHERE kind = 'referral_reward' AND account_id = ? ORDER BY id",
  )
    .bind(accountId)
    .all<{ amount_micros: number; debit_account_id: string; job_id: string | null }>();
  return rows.results;
}

describe("referral codes", () => {
  afterEach(drainAgents);

  it("creates one code per account, shown on GET, behind an API key", async () => {
    const { apiKey } = await signup();
    expect((await call("/v1/account/referral")).status).toBe(401);
    const before = await referralOf(apiKey);
    expect(before.status).toBe(200);
    expect(before.view).toMatchObject({ code: null, referred: 0, earnedMicros: 0, shareBps: 1000, days: 90 });
    const created = await referralOf(apiKey, "POST");
    expect(created.status).toBe(201);
    expect(created.view.code).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}$/);
    const again = await referralOf(apiKey, "POST");
    expect(again.status).toBe(200);
    expect(again.view.code).toBe(created.view.code);
    expect((await referralOf(apiKey)).view.code).toBe(created.view.code);
    const other = await signup();
    expect((await referralOf(other.apiKey, "POST")).view.code).not.toBe(created.view.code);
  });

  it("pays the referrer its share of a referred account's fees, once per settlement, until the window ends", async () => {
    const referrer = await signup();
    const { view } = await referralOf(referrer.apiKey, "POST");
    const res = await signupWith({ name: "referred", referralCode: view.code });
    expect(res.status).toBe(201);
    const referred = (await res.json()) as { id: string; apiKey: string };
    const { agent } = await ownedAgent(hardware([h100Numbered(7_100)]));

    const before = await balances();
    const first = await settledJob(referred.apiKey, agent);
    expect(first.fee).toBe(160_000);
    const after = await balances();
    const referrerId = `user:${referrer.id}`;
    expect((after.get(referrerId) ?? 0) - (before.get(referrerId) ?? 0)).toBe(REWARD);
    // The reward comes out of the platform's fee: fees grew by what it kept less the reward.
    expect((after.get("fees") ?? 0) - (before.get("fees") ?? 0)).toBe(first.fee - REWARD);
    expect(await ledgerSum()).toBe(0);
    const rewards = await rewardsOf(referrer.id);
    expect(rewards).toHaveLength(1);
    expect(rewards[0]).toMatchObject({ amount_micros: REWARD, debit_account_id: "fees", job_id: null });

    // Replaying the reward's statements (as a replayed outbox batch would) pays nothing more.
    const settled = await stored();
    await runBatch(ledgerDb(), referralRewardStatements(ledgerDb(), first.attemptId, Date.now()));
    expect(await stored()).toBe(settled);

    expect((await referralOf(referrer.apiKey)).view).toMatchObject({
      code: view.code,
      referred: 1,
      active: 1,
      rewards: 1,
      earned: "0.016",
      earnedMicros: REWARD,
    });
    // The referred account's own ledger does not show the referrer's reward.
    const ledger = (await (await call("/v1/ledger", authed(referred.apiKey))).json()) as {
      entries: { kind: string }[];
    };
    expect(ledger.entries.map((e) => e.kind)).not.toContain("referral_reward");

    // The window ends (as if REFERRAL_DAYS had passed): later settlements pay nothing.
    await env.DB.prepare("UPDATE referrals SET ends_at = ? WHERE referred_account_id = ?")
      .bind(Date.now(), referred.id)
      .run();
    const mid = await balances();
    await settledJob(referred.apiKey, agent);
    const end = await balances();
    expect(end.get(referrerId)).toBe(mid.get(referrerId));
    expect((end.get("fees") ?? 0) - (mid.get("fees") ?? 0)).toBe(160_000);
    expect(await rewardsOf(referrer.id)).toHaveLength(1);
    expect(await ledgerSum()).toBe(0);
    expect((await referralOf(referrer.apiKey)).view).toMatchObject({
      referred: 1,
      active: 0,
      earnedMicros: REWARD,
    });
  });

  it("takes the reward back when the referred account's charge is refunded", async () => {
    const referrer = await signup();
    const { view } = await referralOf(referrer.apiKey, "POST");
    const referred = (await (await signupWith({ referralCode: view.code })).json()) as {
      id: string;
      apiKey: string;
    };
    const { agent } = await ownedAgent(hardware([h100Numbered(7_300)]));
    const referrerId = `user:${referrer.id}`;
    const before = await balances();
    const { attemptId } = await settledJob(referred.apiKey, agent);
    expect((await balances()).get(referrerId)).toBe((before.get(referrerId) ?? 0) + REWARD);

    await refundAttempt(referred.apiKey, attemptId);
    const after = await balances();
    expect(after.get(referrerId)).toBe(before.get(referrerId) ?? 0);
    expect(await ledgerSum()).toBe(0);
    const reversals = await env.DB.prepare(
      "SELECT amount_micros, debit_account_id, credit_account_id FROM ledger_transfers WHERE kind = 'referral_reward_reversal' AND account_id = ?",
    )
      .bind(referrer.id)
      .all();
    expect(reversals.results).toEqual([
      { amount_micros: REWARD, debit_account_id: referrerId, credit_account_id: "fees" },
    ]);
    expect((await referralOf(referrer.apiKey)).view).toMatchObject({ rewards: 1, earnedMicros: 0 });
  });

  it("pays nothing for an account nobody referred", async () => {
    const plain = await signup();
    const { agent } = await ownedAgent(hardware([h100Numbered(7_200)]));
    const before = await balances();
    await settledJob(plain.apiKey, agent);
    expect((await balances()).get("fees")).toBe((before.get("fees") ?? 0) + 160_000);
    expect(await ledgerSum()).toBe(0);
  });

  it("refuses an unknown or malformed code with a 4xx and stores nothing", async () => {
    const referrer = await signup();
    const { view } = await referralOf(referrer.apiKey, "POST");
    const code = view.code ?? "";
    const unknown = code === "0000000000" ? "1111111111" : "0000000000";
    const before = await stored();
    await expectError(await signupWith({ referralCode: unknown }), 400, "unknown_referral_code");
    for (const bad of [code.toLowerCase(), `${code}X`, code.slice(1), "IIIIIIIIII", "", 42, null, [code]]) {
      const res = await signupWith({ name: "x", referralCode: bad });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(typeof body.error.code).toBe("string");
      expect(typeof body.error.message).toBe("string");
    }
    expect(await stored()).toBe(before);
  });
});

/** A signed sign-in message for the wallet, ready to send with extra fields. */
async function signedMessage(secret = ed.utils.randomSecretKey()) {
  const address = encodeBase58(await ed.getPublicKeyAsync(secret));
  const issued = await call("/v1/auth/wallet/challenge", jsonInit("POST", { address }));
  expect(issued.status).toBe(201);
  const { message } = (await issued.json()) as { message: string };
  const signature = encodeBase58(await ed.signAsync(new TextEncoder().encode(message), secret));
  const send = (extra: Record<string, unknown> = {}) =>
    call("/v1/auth/wallet/verify", jsonInit("POST", { message, signature, ...extra }));
  return { secret, send };
}

describe("referral codes at wallet sign-in", () => {
  it("refers a wallet's new account, and refuses a code for an existing one without using the message", async () => {
    const referrer = await signup();
    const { view } = await referralOf(referrer.apiKey, "POST");
    const first = await signedMessage();
    const created = await first.send({ referralCode: view.code });
    expect(created.status).toBe(201);
    const signedIn = (await created.json()) as { accountId: string; apiKey: string };
    const row = await env.DB.prepare("SELECT * FROM referrals WHERE referred_account_id = ?")
      .bind(signedIn.accountId)
      .first<{ referrer_account_id: string; share_bps: number; ends_at: number; created_at: number }>();
    expect(row).toMatchObject({ referrer_account_id: referrer.id, share_bps: 1000 });
    expect((row?.ends_at ?? 0) - (row?.created_at ?? 0)).toBe(90 * 86_400_000);
    expect((await referralOf(referrer.apiKey)).view).toMatchObject({ referred: 1, active: 1 });

    // The wallet's account, now existing, with its own code, another's, and an unknown one.
    const own = (await referralOf(signedIn.apiKey, "POST")).view.code;
    for (const [code, status, error] of [
      [own, 400, "self_referral"],
      [view.code, 409, "referral_needs_new_account"],
      ["0000000000", 400, "unknown_referral_code"],
    ] as const) {
      const again = await signedMessage(first.secret);
      const before = await stored();
      await expectError(await again.send({ referralCode: code }), status, error);
      expect(await stored()).toBe(before);
      // The refused message was not used up: the same one signs in without a code.
      const plain = await again.send();
      expect(plain.status).toBe(200);
      expect(await plain.json()).toMatchObject({ accountId: signedIn.accountId, created: false });
    }
  });

  it("refuses an unknown or malformed code for a new wallet, creating nothing", async () => {
    // The wallet routes answer a value they cannot act on with 422 `invalid_request` (chain-body.ts).
    for (const [bad, status, error] of [
      ["0000000000", 400, "unknown_referral_code"],
      ["abc", 422, "invalid_request"],
      [7, 422, "invalid_request"],
    ] as const) {
      const attempt = await signedMessage();
      const before = await stored();
      await expectError(await attempt.send({ referralCode: bad }), status, error);
      expect(await stored()).toBe(before);
      expect((await attempt.send()).status).toBe(201);
    }
  });
});
