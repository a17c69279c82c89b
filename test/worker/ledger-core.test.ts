import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { splitCharge } from "../../src/ledger/fee-split.js";
import { holdForJob } from "../../src/ledger/hold.js";
import { CREDITS_ISSUER, holdAccount, userAccount } from "../../src/ledger/ledger-accounts.js";
import { runBatch } from "../../src/ledger/ledger-db.js";
import { maxCost, meter, minimumCharge } from "../../src/ledger/meter.js";
import { recordPayout } from "../../src/ledger/payout.js";
import { releaseHold, releaseHoldStatements } from "../../src/ledger/release.js";
import {
  type AttemptSettlement,
  settleAttempt,
  settleAttemptStatements,
} from "../../src/ledger/settlement.js";
import { recordTopUp } from "../../src/ledger/top-up.js";
import { postTransfer } from "../../src/ledger/transfer.js";
import { MeridianError } from "../../src/shared/errors.js";
import { balanceOfAccount, balances, fakeId, ledgerDb, ledgerSum } from "./ledger-support.js";

const FEES = { platformFeeBps: 1000, burnShareBps: 2000 };
const db = ledgerDb();

async function fund(accountId: string, micros: number): Promise<void> {
  await postTransfer(db, {
    debit: CREDITS_ISSUER,
    credit: userAccount(accountId),
    amountMicros: micros,
    kind: "credit_grant",
    idempotencyKey: `test:fund:${accountId}:${micros}`,
    accountId,
  });
}

async function expectMeridian(work: Promise<unknown>, status: number, code: string): Promise<MeridianError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof MeridianError)) throw new Error(`expected ${status} ${code}, got ${String(error)}`);
  expect([error.status, error.code]).toEqual([status, code]);
  return error;
}

function attempt(
  accountId: string,
  jobId: string,
  extra: Partial<AttemptSettlement> = {},
): AttemptSettlement {
  return {
    accountId,
    jobId,
    attemptId: fakeId("att"),
    nodeId: "node_aaaaaaaaaaaaaaaaaaaaaaaaaa",
    outcome: "succeeded",
    startedAt: 1_000_000,
    endedAt: 1_000_000 + 90 * 60_000,
    pricePerGpuHourMicros: 2_000_000,
    gpus: 2,
    ...extra,
  };
}

describe("meter (pure)", () => {
  const rate = { pricePerGpuHourMicros: 2_000_000, gpus: 2 };
  it("bills per started second, rounding µUSD up", () => {
    expect(meter({ ...rate, mode: "per_second", startedAt: 0, endedAt: 1 })).toEqual({
      billableSeconds: 1,
      amountMicros: 1112, // ⌈4,000,000 / 3600⌉
    });
    expect(meter({ ...rate, mode: "per_second", startedAt: 0, endedAt: 3_600_000 }).amountMicros).toBe(
      4_000_000,
    );
    expect(meter({ ...rate, mode: "per_second", startedAt: null, endedAt: 10_000 }).amountMicros).toBe(0);
  });
  it("bills hourly and daily per started unit, at least one", () => {
    expect(meter({ ...rate, mode: "hourly", startedAt: 0, endedAt: 1 }).amountMicros).toBe(4_000_000);
    expect(meter({ ...rate, mode: "hourly", startedAt: 0, endedAt: 3_600_001 }).amountMicros).toBe(8_000_000);
    expect(meter({ ...rate, mode: "daily", startedAt: 0, endedAt: 5 }).amountMicros).toBe(96_000_000);
    expect(meter({ ...rate, mode: "daily", startedAt: 0, endedAt: 86_400_001 }).billableSeconds).toBe(
      172_800,
    );
  });
  it("bills a per_task job its fixed price, and keeps huge products exact", () => {
    expect(
      meter({ ...rate, mode: "per_task", fixedPriceMicros: 7, startedAt: 0, endedAt: 99 }).amountMicros,
    ).toBe(7);
    // 7 days × 16 GPUs × 9,999 USD/h: past 2^53 µUSD·s inside, clamped to one transfer's limit outside.
    const big = meter({
      pricePerGpuHourMicros: 9_999_000_000,
      gpus: 16,
      mode: "per_second",
      startedAt: 0,
      endedAt: 604_800_000,
    });
    expect(big.amountMicros).toBe(1_000_000_000_000);
    expect(maxCost({ ...rate, mode: "per_second" }, 1800)).toBe(2_000_000);
    expect(minimumCharge({ ...rate, mode: "hourly" })).toBe(4_000_000);
  });
  it("splits a charge exactly, remainder to the provider", () => {
    for (const charge of [0, 1, 9, 10, 12_345, 999_999_999_999]) {
      const split = splitCharge(charge, FEES);
      expect(split.platformMicros + split.burnMicros + split.providerMicros).toBe(charge);
      expect(split.feeMicros).toBe(Math.floor((charge * 1000) / 10_000));
    }
  });
});

describe("holds, settlements, releases", () => {
  it("holds, settles with fee and burn split, and releases the rest exactly once", async () => {
    const acct = fakeId("acct");
    const job = fakeId("job");
    await fund(acct, 20_000_000);
    const held = await holdForJob(db, { accountId: acct, jobId: job, amountMicros: 10_000_000 });
    expect(held.replayed).toBe(false);
    expect(await balanceOfAccount(userAccount(acct).id)).toBe(10_000_000);
    // 90 minutes × 2 GPUs × 2 USD = 6 USD: fee 0.60 (burn 0.12), provider 5.40.
    const settled = await settleAttempt(db, attempt(acct, job), FEES);
    expect(settled).toMatchObject({
      chargedMicros: 6_000_000,
      feeMicros: 600_000,
      burnMicros: 120_000,
      providerMicros: 5_400_000,
    });
    const all = await balances();
    expect(all.get("earnings:node_aaaaaaaaaaaaaaaaaaaaaaaaaa")).toBe(5_400_000);
    expect(all.get("fees")).toBe(480_000);
    expect(all.get("burn")).toBe(120_000);
    expect(all.get(holdAccount(acct, job).id)).toBe(4_000_000);
    expect((await releaseHold(db, { accountId: acct, jobId: job })).releasedMicros).toBe(4_000_000);
    expect((await releaseHold(db, { accountId: acct, jobId: job })).releasedMicros).toBe(4_000_000);
    await runBatch(db, releaseHoldStatements(db, { accountId: acct, jobId: job }));
    expect(await balanceOfAccount(userAccount(acct).id)).toBe(14_000_000);
    expect(await balanceOfAccount(holdAccount(acct, job).id)).toBe(0);
    expect(await ledgerSum()).toBe(0);
  });

  it("refuses a hold the balance cannot cover with 402 and what is needed; nothing moves", async () => {
    const acct = fakeId("acct");
    await fund(acct, 1_000_000);
    const before = await balances();
    const error = await expectMeridian(
      holdForJob(db, { accountId: acct, jobId: fakeId("job"), amountMicros: 1_500_000 }),
      402,
      "insufficient_funds",
    );
    expect(error.details).toMatchObject({ needed: "1.50", available: "1.00", availableMicros: 1_000_000 });
    expect(await balances()).toEqual(before);
  });

  it("refuses non-integer, negative and below-minimum holds with 400", async () => {
    const acct = fakeId("acct");
    await fund(acct, 5_000_000);
    const before = await balances();
    for (const amountMicros of [-1, 0, 1.5, Number.NaN]) {
      await expectMeridian(
        holdForJob(db, { accountId: acct, jobId: fakeId("job"), amountMicros }),
        400,
        "invalid_amount",
      );
    }
    const minimumMicros = minimumCharge({ pricePerGpuHourMicros: 2_000_000, gpus: 1, mode: "hourly" });
    await expectMeridian(
      holdForJob(db, {
        accountId: acct,
        jobId: fakeId("job"),
        amountMicros: minimumMicros - 1,
        minimumMicros,
      }),
      400,
      "budget_below_minimum",
    );
    expect(await balances()).toEqual(before);
  });

  it("replays a hold with the same key and refuses the key with another amount", async () => {
    const acct = fakeId("acct");
    const job = fakeId("job");
    await fund(acct, 5_000_000);
    const first = await holdForJob(db, { accountId: acct, jobId: job, amountMicros: 2_000_000 });
    const again = await holdForJob(db, { accountId: acct, jobId: job, amountMicros: 2_000_000 });
    expect(again).toEqual({ transfer: first.transfer, replayed: true });
    await expectMeridian(
      holdForJob(db, { accountId: acct, jobId: job, amountMicros: 3_000_000 }),
      409,
      "idempotency_key_reused",
    );
    expect(await balanceOfAccount(userAccount(acct).id)).toBe(3_000_000);
  });

  it("charges lost and returned attempts nothing, caps a charge at the hold, and settles an attempt once", async () => {
    const acct = fakeId("acct");
    const job = fakeId("job");
    await fund(acct, 3_000_000);
    await holdForJob(db, { accountId: acct, jobId: job, amountMicros: 3_000_000 });
    const lost = await settleAttempt(db, attempt(acct, job, { outcome: "lost" }), FEES);
    expect([lost.meteredMicros, lost.chargedMicros]).toEqual([0, 0]);
    const returned = await settleAttempt(
      db,
      attempt(acct, job, { outcome: "returned", startedAt: null }),
      FEES,
    );
    expect(returned.chargedMicros).toBe(0);
    // A failure of the user's own is charged; 6 USD metered, 3 USD held: capped, shortfall recorded.
    const failed = attempt(acct, job, { outcome: "failed" });
    const row = await settleAttempt(db, failed, FEES);
    expect(row).toMatchObject({
      meteredMicros: 6_000_000,
      chargedMicros: 3_000_000,
      shortfallMicros: 3_000_000,
    });
    const after = await balances();
    // The same attempt again, even with other figures, and its statements replayed: nothing moves.
    expect(await settleAttempt(db, { ...failed, endedAt: failed.endedAt + 1 }, FEES)).toEqual(row);
    await runBatch(db, settleAttemptStatements(db, failed, FEES));
    await runBatch(db, settleAttemptStatements(db, failed, FEES));
    expect(await balances()).toEqual(after);
    const legs = await env.DB.prepare("SELECT kind FROM ledger_transfers WHERE attempt_id = ? ORDER BY kind")
      .bind(failed.attemptId)
      .all<{ kind: string }>();
    expect(legs.results.map((leg) => leg.kind)).toEqual(["settle_burn", "settle_fee", "settle_provider"]);
    expect(await balanceOfAccount(holdAccount(acct, job).id)).toBe(0);
    expect(await ledgerSum()).toBe(0);
  });

  it("keeps transfers and settlements append-only in the database itself", async () => {
    const acct = fakeId("acct");
    await fund(acct, 1_000_000);
    for (const statement of [
      "UPDATE ledger_transfers SET amount_micros = 1",
      "DELETE FROM ledger_transfers",
      "UPDATE ledger_settlements SET charged_micros = 0",
      "DELETE FROM ledger_settlements",
      "DELETE FROM ledger_accounts",
      "UPDATE ledger_accounts SET kind = 'issuer'",
    ]) {
      await expect(env.DB.prepare(statement).run(), statement).rejects.toThrow(/ledger_append_only/);
    }
    await expect(
      env.DB.prepare(
        "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount_micros, kind, idempotency_key, request_hash, created_at) VALUES ('tx_x', 'issuer', 'user:nobody', 5, 'credit_grant', 'raw:1', 'h', 0)",
      ).run(),
    ).rejects.toThrow(/ledger_unknown_account/);
  });

  it("pays out earnings and refuses a top-up for another account", async () => {
    const node = "node_bbbbbbbbbbbbbbbbbbbbbbbbbb";
    const acct = fakeId("acct");
    const job = fakeId("job");
    await fund(acct, 10_000_000);
    await holdForJob(db, { accountId: acct, jobId: job, amountMicros: 10_000_000 });
    await settleAttempt(db, attempt(acct, job, { nodeId: node }), FEES);
    await recordPayout(db, { nodeId: node, amountMicros: 5_000_000, idempotencyKey: "payout:1" });
    await expectMeridian(
      recordPayout(db, { nodeId: node, amountMicros: 1_000_000, idempotencyKey: "payout:2" }),
      402,
      "insufficient_funds",
    );
    expect(await balanceOfAccount(`earnings:${node}`)).toBe(400_000);
    const before = await balances();
    await expectMeridian(
      recordTopUp(db, {
        accountId: fakeId("acct"),
        callerAccountId: acct,
        amountMicros: 1_000_000,
        idempotencyKey: "topup:x",
      }),
      403,
      "forbidden_account",
    );
    expect(await balances()).toEqual(before);
    await recordTopUp(db, {
      accountId: acct,
      callerAccountId: acct,
      amountMicros: 1_000_000,
      idempotencyKey: "topup:y",
    });
    expect(await balanceOfAccount("topup_source")).toBe(-1_000_000);
    expect(await ledgerSum()).toBe(0);
  });
});
