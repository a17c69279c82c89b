import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { ReferralView } from "../../src/shared/referral-api.js";
import { authed, call, jsonInit, submit, type TestAgent } from "./support.js";

/** 1 GPU for an hour at the test node's $2.00: fee 10% = 200,000, burn 20% of it, 160,000 kept. */
export const CHARGE = 2_000_000;
/** The default REFERRAL_SHARE_BPS (10%) of the 160,000 the platform keeps. */
export const REWARD = 16_000;

const spec = {
  name: "referred-work",
  image: "meridian/busybox:test",
  command: ["true"],
  region: "eu-west",
  resources: { gpus: 1 },
  maxPricePerGpuHour: "2.00",
  timeoutSeconds: 3600,
  billing: { mode: "hourly" },
};

export async function referralOf(
  apiKey: string,
  method = "GET",
): Promise<{ status: number; view: ReferralView }> {
  const res = await call("/v1/account/referral", authed(apiKey, method));
  return { status: res.status, view: (await res.json()) as ReferralView };
}

export async function signupWith(body: unknown): Promise<Response> {
  return call("/v1/accounts", jsonInit("POST", body));
}

/** Runs one job of the account to its end on the agent; answers its attempt once it is settled. */
export async function settledJob(
  apiKey: string,
  agent: TestAgent,
): Promise<{ attemptId: string; fee: number }> {
  const created = await submit(apiKey, spec);
  expect(created.status).toBe(201);
  const [a] = (await agent.poll()).assignments;
  if (!a) throw new Error("no assignment");
  expect((await agent.start(a)).status).toBe(200);
  expect((await agent.exit(a)).status).toBe(200);
  const row = await env.DB.prepare(
    "SELECT charged_micros AS charged, fee_micros - burn_micros AS fee FROM ledger_settlements WHERE attempt_id = ?",
  )
    .bind(a.attemptId)
    .first<{ charged: number; fee: number }>();
  if (!row) throw new Error(`attempt ${a.attemptId} not settled`);
  expect(row.charged).toBe(CHARGE);
  return { attemptId: a.attemptId, fee: row.fee };
}

/** The job a settled attempt belongs to. */
export async function jobOfAttempt(attemptId: string): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT job_id FROM ledger_settlements WHERE attempt_id = ?")
    .bind(attemptId)
    .first<{ job_id: string }>();
  return row?.job_id;
}

/**
 * Refunds a settled attempt of the account as a user gets one: a dispute, refunded when it opens
 * where the evidence settles it, otherwise by the operator's decision.
 */
export async function refundAttempt(apiKey: string, attemptId: string): Promise<void> {
  const jobId = await jobOfAttempt(attemptId);
  const opened = await call(
    `/v1/jobs/${jobId}/attempts/${attemptId}/dispute`,
    jsonInit("POST", { reason: "the GPU was not there" }, apiKey),
  );
  expect(opened.status).toBe(201);
  const { id: disputeId } = (await opened.json()) as { id: string };
  // A dispute the evidence settles is refunded when it opens; otherwise the operator decides it.
  const refunded = () =>
    env.DB.prepare("SELECT refunded_micros FROM attempt_refunds WHERE attempt_id = ?")
      .bind(attemptId)
      .first();
  if (!(await refunded())) {
    const decided = await call(`/v1/operator/disputes/${disputeId}/decision`, {
      ...jsonInit("POST", { decision: "refund", note: "the node was at fault" }),
      headers: { authorization: "Bearer test-operator-token", "content-type": "application/json" },
    });
    expect(decided.status).toBe(200);
  }
  expect(await refunded()).toMatchObject({ refunded_micros: CHARGE });
}
