import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { RegionObject } from "../../src/durable/region-object.js";
import type { Assignment } from "../../src/shared/agent-protocol.js";
import { prng } from "../support/prng.js";
import { grant } from "./ledger-support.js";
import { authed, call, H100, hardware, jsonInit, signup, TestAgent } from "./support.js";

/**
 * The ledger's invariants through the real job flow: the Worker's routes, the Region object and
 * agents speaking the signed protocol, in workerd against local D1. Seeded, so a failure replays.
 */

const SIGNUP_MICROS = 5_000_000;
const MAY_GO_NEGATIVE = "('issuer', 'topup_source')";

function regionStub(region = "eu-west"): DurableObjectStub<RegionObject> {
  return env.REGION.get(env.REGION.idFromName(region));
}

interface RegionInternals {
  state: {
    leases: Map<string, number>;
    jobs: Map<string, { retryAt: number | null }>;
  };
  outbox: { flush: () => Promise<void> };
}

function internals(instance: unknown): RegionInternals {
  return instance as RegionInternals;
}

/** A node goes silent: its attempt's lease lapses and the sweep marks it lost. */
async function expireLease(region: string, attemptId: string): Promise<void> {
  await runInDurableObject(regionStub(region), (instance) => {
    const leases = internals(instance).state.leases;
    if (leases.has(attemptId)) leases.set(attemptId, 0);
  });
  await runDurableObjectAlarm(regionStub(region));
}

/** Ends every retry backoff now and runs the sweep, so lost jobs are placed again. */
async function retryAllNow(region: string): Promise<void> {
  await runInDurableObject(regionStub(region), (instance) => {
    for (const job of internals(instance).state.jobs.values()) if (job.retryAt !== null) job.retryAt = 0;
  });
  await runDurableObjectAlarm(regionStub(region));
}

async function one<T>(sql: string, ...bind: unknown[]): Promise<T> {
  const row = await env.DB.prepare(sql)
    .bind(...bind)
    .first<T>();
  if (row === null) throw new Error(`no row: ${sql}`);
  return row;
}

/** Every ledger account's balance, as one comparable string. */
async function ledgerSnapshot(): Promise<string> {
  const rows = await env.DB.prepare("SELECT id, balance_micros FROM ledger_accounts ORDER BY id").all();
  return JSON.stringify(rows.results);
}

/** The invariants the issue lists, as queries over the whole ledger; throws with what broke. */
async function checkInvariants(creditsIssued: number, label: string): Promise<void> {
  const row = await one<{
    total: number;
    negative: number;
    issuer: number;
    unsettled: number;
    orphan: number;
    legs: number;
    overcharged: number;
    accounts: number;
  }>(`
    SELECT
      (SELECT coalesce(sum(balance_micros), 0) FROM ledger_accounts) AS total,
      (SELECT count(*) FROM ledger_accounts WHERE balance_micros < 0 AND kind NOT IN ${MAY_GO_NEGATIVE}) AS negative,
      (SELECT coalesce(sum(balance_micros), 0) FROM ledger_accounts WHERE kind = 'issuer') AS issuer,
      (SELECT count(*) FROM job_attempts AS a WHERE a.outcome IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM ledger_settlements AS s WHERE s.attempt_id = a.id)) AS unsettled,
      (SELECT count(*) FROM ledger_settlements AS s
         WHERE NOT EXISTS (SELECT 1 FROM job_attempts AS a WHERE a.id = s.attempt_id AND a.outcome IS NOT NULL)) AS orphan,
      (SELECT count(*) FROM ledger_settlements AS s WHERE s.charged_micros <> coalesce((SELECT sum(t.amount_micros)
         FROM ledger_transfers AS t WHERE t.attempt_id = s.attempt_id AND t.kind LIKE 'settle_%'), 0)) AS legs,
      (SELECT count(*) FROM ledger_settlements WHERE charged_micros > metered_micros OR charged_micros < 0) AS overcharged,
      -- Per account: what it has and holds plus what it was charged is what was put in.
      (SELECT count(*) FROM accounts AS acct WHERE
         coalesce((SELECT balance_micros FROM ledger_accounts WHERE id = 'user:' || acct.id), 0)
         + coalesce((SELECT sum(balance_micros) FROM ledger_accounts WHERE account_id = acct.id AND kind = 'hold'), 0)
         + coalesce((SELECT sum(charged_micros) FROM ledger_settlements WHERE account_id = acct.id), 0)
         <> coalesce((SELECT sum(amount_micros) FROM ledger_transfers
              WHERE credit_account_id = 'user:' || acct.id AND kind IN ('signup_credit', 'credit_grant', 'topup')), 0)
      ) AS accounts`);
  const broken = {
    sumIsZero: row.total === 0,
    noForbiddenNegative: row.negative === 0,
    issuerIsCreditsIssued: row.issuer === -creditsIssued,
    everyEndedAttemptSettled: row.unsettled === 0,
    noSettlementWithoutAttempt: row.orphan === 0,
    legsSumToCharge: row.legs === 0,
    chargeWithinMeter: row.overcharged === 0,
    accountsBalance: row.accounts === 0,
  };
  if (Object.values(broken).some((ok) => !ok)) {
    throw new Error(`${label}: invariants broken ${JSON.stringify(broken)} ${JSON.stringify(row)}`);
  }
}

/** Rows never change once written: every row seen before is still there, byte for byte. */
async function checkAppendOnly(seen: Map<string, string>): Promise<void> {
  const rows = await env.DB.prepare(
    "SELECT 't:' || id AS k, json_array(debit_account_id, credit_account_id, amount_micros, kind, idempotency_key, request_hash) AS v FROM ledger_transfers UNION ALL SELECT 's:' || attempt_id, json_array(charged_micros, metered_micros, fee_micros, burn_micros, provider_micros, outcome) FROM ledger_settlements",
  ).all<{ k: string; v: string }>();
  const now = new Map(rows.results.map((r) => [r.k, r.v]));
  for (const [key, value] of seen) {
    if (now.get(key) !== value) throw new Error(`ledger row ${key} changed or vanished`);
  }
  for (const [key, value] of now) seen.set(key, value);
}

interface Running {
  agent: TestAgent;
  assignment: Assignment;
  started: boolean;
}

/**
 * One seeded sequence of random operations through the real flow — submits (some replayed with
 * their Idempotency-Key), polls, container starts, exits (each report sent twice), cancels, node
 * losses by lease expiry with retries, operator credits (replayed), account limits, and restarts of
 * every Durable Object — checking the invariants after every operation, then winding every job
 * down and checking that every hold went back. Each sequence runs in its own test file: storage is
 * isolated per file, so sequences never slow each other down.
 */
export async function runMoneySequence(seed: number, region: string, operations: number): Promise<void> {
  const OPERATIONS = operations;
  const random = prng(seed);
  const int = (max: number) => Math.floor(random() * max);
  const pick = <T>(items: readonly T[]): T | undefined => items[int(items.length)];
  const base = await one<{ n: number }>(
    "SELECT -coalesce(sum(balance_micros), 0) AS n FROM ledger_accounts WHERE kind = 'issuer'",
  );
  let creditsIssued = base.n;
  const users = await Promise.all([signup(), signup(), signup()]);
  const provider = await signup();
  creditsIssued += 4 * SIGNUP_MICROS;
  const agents = ["1.00", "2.00", "3.00"].map(() => new TestAgent());
  for (const [i, agent] of agents.entries()) {
    agent.ownerApiKey = provider.apiKey;
    await agent.register(hardware([{ ...H100, uuid: `GPU-${seed}-${i}-0000-0000-000000000000` }]), {
      pricePerGpuHour: ["1.00", "2.00", "3.00"][i],
      region,
    });
  }
  const jobs: { id: string; apiKey: string }[] = [];
  const running = new Map<string, Running>();
  const seen = new Map<string, string>();
  const counts: Record<string, number> = {};

  const ops: [number, string, () => Promise<void>][] = [
    [
      24,
      "submit",
      async () => {
        const user = pick(users);
        if (!user) return;
        const mode = pick(["per_second", "per_second", "hourly", "per_task"] as const) ?? "per_second";
        const spec = {
          name: "prop",
          image: "meridian/busybox:test",
          region,
          resources: { gpus: 1 },
          maxPricePerGpuHour: pick(["1.00", "2.00", "3.00"]),
          timeoutSeconds: 60 + int(3600),
          maxRetries: int(3),
          billing: mode === "per_task" ? { mode, fixedPrice: "0.40" } : { mode },
          ...(random() < 0.4 ? { budget: { maxTotalUsd: pick(["0.05", "0.30", "1.20"]) } } : {}),
        };
        const init = jsonInit("POST", spec, user.apiKey);
        const keyed = random() < 0.5;
        if (keyed) (init.headers as Record<string, string>)["idempotency-key"] = `prop-${seed}-${int(1e9)}`;
        const before = await ledgerSnapshot();
        const res = await call("/v1/jobs", init);
        if (res.status === 201) {
          const { id } = (await res.json()) as { id: string };
          jobs.push({ id, apiKey: user.apiKey });
          if (keyed) {
            // The same request again: the same job, nothing moved.
            const after = await ledgerSnapshot();
            const again = await call("/v1/jobs", init);
            expect(again.status).toBe(201);
            expect(((await again.json()) as { id: string }).id).toBe(id);
            expect(await ledgerSnapshot()).toBe(after);
          }
        } else {
          expect([400, 402, 403]).toContain(res.status);
          await res.arrayBuffer();
          expect(await ledgerSnapshot()).toBe(before);
        }
      },
    ],
    [
      20,
      "poll",
      async () => {
        const agent = pick(agents);
        if (!agent) return;
        const mine = [...running.values()]
          .filter((r) => r.agent === agent)
          .map((r) => ({ attemptId: r.assignment.attemptId, fencing: r.assignment.fencing }));
        const answer = await agent.poll(mine);
        for (const stop of answer.stop) running.delete(stop.attemptId);
        for (const assignment of answer.assignments) {
          running.set(assignment.attemptId, { agent, assignment, started: false });
        }
      },
    ],
    [
      16,
      "start",
      async () => {
        const r = pick([...running.values()].filter((x) => !x.started));
        if (!r) return;
        const res = await r.agent.report(r.assignment.attemptId, {
          type: "started",
          fencing: r.assignment.fencing,
          at: Date.now(),
          containerId: "c",
        });
        await res.arrayBuffer();
        if (res.status === 200) r.started = true;
        else running.delete(r.assignment.attemptId);
      },
    ],
    [
      16,
      "exit",
      async () => {
        const r = pick([...running.values()]);
        if (!r) return;
        running.delete(r.assignment.attemptId);
        const body = {
          type: "exited",
          fencing: r.assignment.fencing,
          at: Date.now(),
          exitCode: random() < 0.7 ? 0 : 1,
          reason: "completed",
        };
        const res = await r.agent.report(r.assignment.attemptId, body);
        await res.arrayBuffer();
        // The agent retries its report (it never saw the answer): nothing changes.
        const after = await ledgerSnapshot();
        await (await r.agent.report(r.assignment.attemptId, body)).arrayBuffer();
        expect(await ledgerSnapshot()).toBe(after);
      },
    ],
    [
      8,
      "cancel",
      async () => {
        const job = pick(jobs);
        if (!job) return;
        const res = await call(`/v1/jobs/${job.id}/cancel`, authed(job.apiKey, "POST"));
        expect([200, 409]).toContain(res.status);
        await res.arrayBuffer();
      },
    ],
    [
      7,
      "lose",
      async () => {
        const r = pick([...running.values()]);
        if (!r) return;
        running.delete(r.assignment.attemptId);
        await expireLease(region, r.assignment.attemptId);
        if (random() < 0.5) await retryAllNow(region);
      },
    ],
    [
      5,
      "credit",
      async () => {
        const user = pick(users);
        if (!user) return;
        const amount = pick(["0.01", "0.50", "3.00"]) ?? "0.01";
        const body = { accountId: user.id, amount };
        const key = `prop-credit-${seed}-${int(1e9)}`;
        expect((await grant(body, key)).status).toBe(201);
        const after = await ledgerSnapshot();
        expect((await grant(body, key)).status).toBe(201);
        expect(await ledgerSnapshot()).toBe(after);
        creditsIssued += Number(amount) * 1_000_000;
      },
    ],
    [
      2,
      "limits",
      async () => {
        const user = pick(users);
        if (!user) return;
        const body =
          random() < 0.5
            ? { monthlyCap: pick(["2.00", "20.00", null]) }
            : { maxSpendPerHour: pick(["2.00", "5.00", null]) };
        const res = await call("/v1/account/limits", jsonInit("PUT", body, user.apiKey));
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      },
    ],
    [
      2,
      "restart",
      async () => {
        await abortAllDurableObjects();
      },
    ],
  ];
  const totalWeight = ops.reduce((sum, [w]) => sum + w, 0);

  for (let i = 0; i < OPERATIONS; i++) {
    const roll = int(totalWeight);
    let reached = 0;
    const op = ops.find(([w]) => {
      reached += w;
      return roll < reached;
    });
    if (!op) throw new Error("no operations");
    counts[op[1]] = (counts[op[1]] ?? 0) + 1;
    await op[2]();
    await checkInvariants(creditsIssued, `seed ${seed.toString(16)} op ${i} (${op[1]})`);
    if (i % 50 === 0) await checkAppendOnly(seen);
  }

  // Wind down: cancel every job, end every attempt, and every hold must be back at 0.
  for (const job of jobs)
    await (await call(`/v1/jobs/${job.id}/cancel`, authed(job.apiKey, "POST"))).arrayBuffer();
  for (const r of running.values()) {
    await (
      await r.agent.report(r.assignment.attemptId, {
        type: "exited",
        fencing: r.assignment.fencing,
        at: Date.now(),
        exitCode: 137,
        reason: "cancelled",
      })
    ).arrayBuffer();
  }
  // Attempts the agents no longer track (stopped, refused) end when their nodes go silent.
  await runInDurableObject(regionStub(region), (instance) => {
    const leases = internals(instance).state.leases;
    for (const id of leases.keys()) leases.set(id, 0);
  });
  await runDurableObjectAlarm(regionStub(region));
  await checkInvariants(creditsIssued, `seed ${seed.toString(16)} end`);
  await checkAppendOnly(seen);
  const open = await one<{ jobs: number; held: number }>(
    `SELECT (SELECT count(*) FROM jobs WHERE id IN (${jobs.map(() => "?").join(",") || "NULL"})
               AND status IN ('queued', 'assigned', 'running')) AS jobs,
            (SELECT coalesce(sum(balance_micros), 0) FROM ledger_accounts
               WHERE kind = 'hold' AND account_id IN (?, ?, ?)) AS held`,
    ...jobs.map((j) => j.id),
    ...users.map((u) => u.id),
  );
  expect(open).toEqual({ jobs: 0, held: 0 });
  // The sequence really did exercise the flow.
  expect(counts.submit ?? 0).toBeGreaterThan(50);
  const settled = await one<{ n: number; charged: number }>(
    `SELECT count(*) AS n, coalesce(sum(charged_micros), 0) AS charged FROM ledger_settlements WHERE account_id IN (?, ?, ?)`,
    ...users.map((u) => u.id),
  );
  expect(settled.n).toBeGreaterThan(3);
  expect(settled.charged).toBeGreaterThan(0);
}
