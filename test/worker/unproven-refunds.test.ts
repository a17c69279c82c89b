import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { refundNodeFaults } from "../../src/worker/fault-refunds.js";
import { balances, ledgerSum } from "./ledger-support.js";
import { lieThroughChallenge } from "./node-standing-support.js";
import { CHARGE, jobOfAttempt, settledJob } from "./referral-support.js";
import {
  authed,
  call,
  drainAgents,
  h100Numbered,
  hardware,
  jsonInit,
  ownedAgent,
  regionObject,
  signup,
} from "./support.js";

async function refundOf(attemptId: string): Promise<{ cause: string; refunded_micros: number } | null> {
  return env.DB.prepare("SELECT cause, refunded_micros FROM attempt_refunds WHERE attempt_id = ?")
    .bind(attemptId)
    .first<{ cause: string; refunded_micros: number }>();
}

// Issue 14: "hardware cannot be swapped after passing", and charges a provider cannot fake. A node
// that is then proven false (its verification rejected for a lie, the region's slash order) had
// nothing proven about what it ran since its last passed check: those charges go back to the
// users without anyone asking, whatever the attempts' outcomes.
describe("charges for work a node ran before it was proven false", () => {
  afterEach(drainAgents);

  it("are refunded by the cron once the node's verification is rejected for a lie, once, with a cause the user sees", async () => {
    const user = await signup();
    const { agent } = await ownedAgent(hardware([h100Numbered(9_700)]));
    const honest = await ownedAgent(hardware([h100Numbered(9_701)]));
    // Never verified yet (local runs let unverified nodes work): it runs and is charged in full.
    const before = await balances();
    const { attemptId } = await settledJob(user.apiKey, agent);
    expect((await balances()).get(`user:${user.id}`)).toBe((before.get(`user:${user.id}`) ?? 0) - CHARGE);
    // Before any rejection nothing is refunded.
    await refundNodeFaults(env);
    expect(await refundOf(attemptId)).toBeNull();

    // Then it lies through its challenge: rejected, and the region's outbox orders the slash.
    await lieThroughChallenge(agent);
    await runDurableObjectAlarm(regionObject());
    const orders = await env.DB.prepare("SELECT node_id FROM slash_orders WHERE node_id = ?")
      .bind(agent.nodeId)
      .all();
    expect(orders.results).toHaveLength(1);

    // The minute cron refunds the attempt it ran unproven; the honest node's work stays charged.
    const otherUser = await signup();
    const kept = await settledJob(otherUser.apiKey, honest.agent);
    await refundNodeFaults(env);
    expect(await refundOf(attemptId)).toEqual({ cause: "node_failed_verification", refunded_micros: CHARGE });
    expect(await refundOf(kept.attemptId)).toBeNull();
    expect((await balances()).get(`user:${user.id}`)).toBe(before.get(`user:${user.id}`) ?? 0);
    expect(await ledgerSum()).toBe(0);

    // The user sees why on the attempt; another sweep refunds nothing more.
    const jobId = await jobOfAttempt(attemptId);
    const res = await call(`/v1/jobs/${jobId}/attempts`, authed(user.apiKey));
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toContain("node_failed_verification");
    const settledBalances = JSON.stringify([...(await balances()).entries()].sort());
    await refundNodeFaults(env);
    expect(JSON.stringify([...(await balances()).entries()].sort())).toBe(settledBalances);
  });

  it("refunds a user's dispute of such an attempt when it opens", async () => {
    const user = await signup();
    const { agent } = await ownedAgent(hardware([h100Numbered(9_702)]));
    const { attemptId } = await settledJob(user.apiKey, agent);
    await lieThroughChallenge(agent);
    await runDurableObjectAlarm(regionObject());
    const jobId = await jobOfAttempt(attemptId);
    const opened = await call(
      `/v1/jobs/${jobId}/attempts/${attemptId}/dispute`,
      jsonInit("POST", { reason: "the node was caught lying about its GPU" }, user.apiKey),
    );
    expect(opened.status).toBe(201);
    expect(await opened.json()).toMatchObject({ state: "refunded" });
    expect(await refundOf(attemptId)).toEqual({ cause: "node_failed_verification", refunded_micros: CHARGE });
  });
});
