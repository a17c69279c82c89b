import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meterAttempt } from "../../src/ledger/attempt-meter.js";
import { splitCharge } from "../../src/ledger/fee-split.js";
import { holdForJob } from "../../src/ledger/hold.js";
import { CREDITS_ISSUER, TOPUP_SOURCE, userAccount } from "../../src/ledger/ledger-accounts.js";
import { runBatch } from "../../src/ledger/ledger-db.js";
import { recordPayout } from "../../src/ledger/payout.js";
import { releaseHoldStatements } from "../../src/ledger/release.js";
import {
  type AttemptOutcome,
  isBillableOutcome,
  settleAttemptStatements,
} from "../../src/ledger/settlement.js";
import { postTransfer, type TransferInput } from "../../src/ledger/transfer.js";
import type { BillingMode } from "../../src/shared/billing.js";
import { MeridianError } from "../../src/shared/errors.js";
import { prng } from "../support/prng.js";
import { balances, ledgerDb } from "./ledger-support.js";

const SEED = 0x5eed_1ed9;
const OPERATIONS = 2000;
const FEES = { platformFeeBps: 1250, burnShareBps: 3333 };
const MAY_GO_NEGATIVE = new Set(["issuer", "topup_source"]);
const db = ledgerDb();

interface Job {
  id: string;
  accountId: string;
  released: boolean;
  attempts: string[];
}

describe("ledger invariants over random operation sequences", () => {
  it(`holds after every one of ${OPERATIONS} seeded operations`, async () => {
    const random = prng(SEED);
    const pick = <T>(items: readonly T[]): T => {
      const item = items[Math.floor(random() * items.length)];
      if (item === undefined) throw new Error("pick from an empty list");
      return item;
    };
    const int = (max: number): number => Math.floor(random() * max);
    const users = [
      "acct_0000000000000000000000inv1",
      "acct_0000000000000000000000inv2",
      "acct_0000000000000000000000inv3",
    ];
    const nodes = ["node_00000000000000000000000nd1", "node_00000000000000000000000nd2"];
    const expected = new Map<string, number>();
    const move = (from: string, to: string, micros: number): void => {
      expected.set(from, (expected.get(from) ?? 0) - micros);
      expected.set(to, (expected.get(to) ?? 0) + micros);
    };
    const posted: { input: TransferInput }[] = [];
    const jobs: Job[] = [];
    const settledAttempts = new Set<string>();
    let issued = 0;
    let counter = 0;
    let transferCount = 0;
    const seen = new Map<string, string>();

    const tryMoney = async (work: () => Promise<unknown>): Promise<MeridianError | undefined> => {
      try {
        await work();
        return undefined;
      } catch (error) {
        if (error instanceof MeridianError) return error;
        throw error;
      }
    };

    for (let step = 0; step < OPERATIONS; step++) {
      const roll = random();
      const user = pick(users);
      let label = "";
      if (roll < 0.15) {
        label = "credit";
        const amount = 1 + int(5_000_000);
        const source = random() < 0.7 ? CREDITS_ISSUER : TOPUP_SOURCE;
        const input: TransferInput = {
          debit: source,
          credit: userAccount(user),
          amountMicros: amount,
          kind: source === CREDITS_ISSUER ? "credit_grant" : "topup",
          idempotencyKey: `prop:credit:${counter++}`,
          accountId: user,
        };
        await postTransfer(db, input);
        posted.push({ input });
        move(source.id, userAccount(user).id, amount);
        issued += amount;
      } else if (roll < 0.25 && posted.length > 0) {
        label = "retry";
        const { input } = pick(posted);
        const same = random() < 0.7;
        const error = await tryMoney(() =>
          postTransfer(db, same ? input : { ...input, amountMicros: input.amountMicros + 1 }),
        );
        expect(error?.code).toBe(same ? undefined : "idempotency_key_reused");
      } else if (roll < 0.45 || jobs.length === 0) {
        label = "hold";
        const job: Job = {
          id: `job_prop${String(counter++).padStart(22, "0")}`,
          accountId: user,
          released: false,
          attempts: [],
        };
        const amount = random() < 0.05 ? 0 : 1 + int(4_000_000);
        const available = expected.get(userAccount(user).id) ?? 0;
        const error = await tryMoney(() =>
          holdForJob(db, { accountId: user, jobId: job.id, amountMicros: amount }),
        );
        if (amount === 0) expect(error?.code).toBe("invalid_amount");
        else if (amount > available) expect(error?.code).toBe("insufficient_funds");
        else {
          expect(error).toBeUndefined();
          move(userAccount(user).id, `hold:${job.id}`, amount);
          jobs.push(job);
          if (random() < 0.2) {
            expect(
              (await holdForJob(db, { accountId: user, jobId: job.id, amountMicros: amount })).replayed,
            ).toBe(true);
          }
        }
      } else if (roll < 0.8) {
        label = "settle";
        const job = pick(jobs);
        const replay = job.attempts.length > 0 && random() < 0.15;
        const attemptId = replay ? pick(job.attempts) : `att_prop${String(counter++).padStart(22, "0")}`;
        const outcome = pick<AttemptOutcome>([
          "succeeded",
          "failed",
          "cancelled",
          "lost",
          "returned",
          "node_fault",
        ]);
        const mode = pick<BillingMode>(["per_second", "per_second", "hourly", "daily", "per_task"]);
        const startedAt = outcome === "returned" ? null : 1_700_000_000_000 + int(1_000_000);
        const input = {
          accountId: job.accountId,
          jobId: job.id,
          attemptId,
          nodeId: pick(nodes),
          outcome,
          startedAt,
          endedAt: (startedAt ?? 1_700_000_000_000) + int(3 * 3_600_000),
          pricePerGpuHourMicros: 100_000 + int(3_000_000),
          gpus: 1 + int(4),
          billing: mode === "per_task" ? { mode, fixedPrice: 1 + int(2_000_000) } : { mode },
        };
        await runBatch(db, settleAttemptStatements(db, input, FEES));
        if (!settledAttempts.has(attemptId)) {
          settledAttempts.add(attemptId);
          job.attempts.push(attemptId);
          const metered = isBillableOutcome(outcome)
            ? meterAttempt({ ...input, mode, fixedPriceMicros: input.billing.fixedPrice }, outcome)
                .amountMicros
            : 0;
          const hold = `hold:${job.id}`;
          const charged = Math.min(metered, expected.get(hold) ?? 0);
          const split = splitCharge(charged, FEES);
          move(hold, `earnings:${input.nodeId}`, split.providerMicros);
          move(hold, "fees", split.platformMicros);
          move(hold, "burn", split.burnMicros);
        }
      } else if (roll < 0.92) {
        label = "release";
        const job = pick(jobs);
        await runBatch(db, releaseHoldStatements(db, { accountId: job.accountId, jobId: job.id }));
        const hold = `hold:${job.id}`;
        // Released once: a hold that was already released is empty and stays empty.
        if (!job.released) move(hold, userAccount(job.accountId).id, expected.get(hold) ?? 0);
        job.released = true;
      } else {
        label = "payout";
        const node = pick(nodes);
        const amount = 1 + int(2_000_000);
        const error = await tryMoney(() =>
          recordPayout(db, {
            nodeId: node,
            amountMicros: amount,
            idempotencyKey: `prop:payout:${counter++}`,
          }),
        );
        if (amount > (expected.get(`earnings:${node}`) ?? 0)) expect(error?.code).toBe("insufficient_funds");
        else {
          expect(error).toBeUndefined();
          move(`earnings:${node}`, "payouts", amount);
        }
      }

      // After every operation: balances match the model, sum to zero, nothing forbidden is negative.
      const actual = await balances();
      const kinds = await env.DB.prepare(
        "SELECT id, kind FROM ledger_accounts WHERE balance_micros < 0",
      ).all<{ id: string; kind: string }>();
      const context = `step ${step} (${label}, seed ${SEED})`;
      for (const row of kinds.results)
        expect(MAY_GO_NEGATIVE.has(row.kind), `${context}: ${row.id} negative`).toBe(true);
      let sum = 0;
      for (const value of actual.values()) sum += value;
      expect(sum, context).toBe(0);
      for (const [id, value] of expected) expect(actual.get(id) ?? 0, `${context}: ${id}`).toBe(value);
      expect(0 - (actual.get("issuer") ?? 0) - (actual.get("topup_source") ?? 0), context).toBe(issued);
      const counts = await env.DB.prepare(
        "SELECT (SELECT count(*) FROM ledger_settlements) AS settlements, (SELECT count(*) FROM ledger_transfers) AS transfers, (SELECT count(*) FROM (SELECT attempt_id, kind FROM ledger_transfers WHERE attempt_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1)) AS doubled",
      ).first<{ settlements: number; transfers: number; doubled: number }>();
      expect(counts?.settlements, context).toBe(settledAttempts.size);
      expect(counts?.doubled, context).toBe(0);
      expect(counts?.transfers ?? 0, context).toBeGreaterThanOrEqual(transferCount);
      transferCount = counts?.transfers ?? 0;

      // Every 250 operations: no transfer seen before has changed or gone (append-only).
      if (step % 250 === 249 || step === OPERATIONS - 1) {
        const rows = await env.DB.prepare(
          "SELECT id, debit_account_id || '>' || credit_account_id || ':' || amount_micros || ':' || idempotency_key AS body FROM ledger_transfers",
        ).all<{ id: string; body: string }>();
        const now = new Map(rows.results.map((row) => [row.id, row.body]));
        for (const [id, body] of seen) expect(now.get(id), `${context}: transfer ${id}`).toBe(body);
        for (const [id, body] of now) seen.set(id, body);
      }
    }
    expect(settledAttempts.size).toBeGreaterThan(300);
  }, 300_000); // CPU-bound: ~35 s on a quiet 2-core machine, several times that under load
});
