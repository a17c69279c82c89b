import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { counts, dispute, hourly, OPERATOR, runOn } from "./charge-disputes-support.js";
import { ledgerSum } from "./ledger-support.js";
import {
  authed,
  balance,
  call,
  drainAgents,
  expectError,
  h100Numbered,
  hardware,
  jsonInit,
  ownedAgent,
  signup,
  submit,
} from "./support.js";

// Several signed round trips a test: the 5 s default is too tight on a loaded 2-core machine.
describe("disputes of a charge", { timeout: 30_000 }, () => {
  afterEach(drainAgents);

  it("leaves a dispute the evidence does not settle to the operator, who refunds or rejects it once", async () => {
    const user = await signup();
    const { agent } = await ownedAgent(hardware([h100Numbered(906)]));
    const first = await runOn(agent, user.apiKey, { ...hourly, command: ["sh", "-c", "exit 3"] }, 3);
    const second = await runOn(agent, user.apiKey, { ...hourly, command: ["sh", "-c", "exit 4"] }, 4);
    const opened = await dispute(user.apiKey, first.jobId, first.attemptId, {
      reason: "the GPU was not there",
    });
    expect(opened.status).toBe(201);
    const view = (await opened.json()) as { id: string; state: string; refund: unknown };
    expect(view).toMatchObject({ state: "open", refund: null });
    const other = (await (await dispute(user.apiKey, second.jobId, second.attemptId)).json()) as {
      id: string;
    };

    const queue = (await (await call("/v1/operator/disputes?state=open", { headers: OPERATOR })).json()) as {
      disputes: { id: string }[];
    };
    expect(queue.disputes.map((d) => d.id)).toEqual(expect.arrayContaining([view.id, other.id]));

    const before = (await balance(user.apiKey)).availableMicros;
    const decided = await call(`/v1/operator/disputes/${view.id}/decision`, {
      ...jsonInit("POST", { decision: "refund", note: "logs show the GPU fell off the bus" }),
      headers: { ...OPERATOR, "content-type": "application/json" },
    });
    expect(decided.status).toBe(200);
    const refunded = (await decided.json()) as { state: string; refund: { refundedMicros: number } };
    expect(refunded.state).toBe("refunded");
    expect(refunded.refund.refundedMicros).toBeGreaterThan(0);
    expect((await balance(user.apiKey)).availableMicros).toBe(before + refunded.refund.refundedMicros);

    const rejected = await call(`/v1/operator/disputes/${other.id}/decision`, {
      method: "POST",
      headers: { ...OPERATOR, "content-type": "application/json" },
      body: JSON.stringify({ decision: "reject", note: "the container exited 4 by itself" }),
    });
    expect(((await rejected.json()) as { state: string }).state).toBe("rejected");

    // A decided dispute stays decided: nothing moves on a second decision.
    const stored = await counts();
    const again = await call(`/v1/operator/disputes/${other.id}/decision`, {
      method: "POST",
      headers: { ...OPERATOR, "content-type": "application/json" },
      body: JSON.stringify({ decision: "refund", note: "changed my mind" }),
    });
    await expectError(again, 409, "dispute_decided");
    expect(await counts()).toEqual(stored);
    const shown = (await (
      await call(`/v1/jobs/${second.jobId}/attempts/${second.attemptId}/dispute`, authed(user.apiKey))
    ).json()) as {
      state: string;
    };
    expect(shown.state).toBe("rejected");
    expect(await ledgerSum()).toBe(0);
  });

  it("refuses bad disputes and decisions with a clear reason, storing nothing", async () => {
    const user = await signup();
    const stranger = await signup();
    const { agent } = await ownedAgent(hardware([h100Numbered(907)]));
    const ran = await runOn(agent, user.apiKey, { ...hourly, command: ["sh", "-c", "exit 7"] }, 7);
    const stored = await counts();
    await expectError(await dispute(stranger.apiKey, ran.jobId, ran.attemptId), 404, "job_not_found");
    await expectError(await dispute(user.apiKey, ran.jobId, "att_nope"), 404, "attempt_not_found");
    await expectError(
      await dispute(user.apiKey, ran.jobId, "att_01jf0000000000000000000000"),
      404,
      "attempt_not_found",
    );
    await expectError(
      await dispute(user.apiKey, ran.jobId, ran.attemptId, { reason: "  " }),
      400,
      "invalid_request",
    );
    await expectError(
      await dispute(user.apiKey, ran.jobId, ran.attemptId, { reason: "x", refund: "all" }),
      400,
      "invalid_request",
    );
    await expectError(await dispute(user.apiKey, ran.jobId, ran.attemptId, "{not json"), 400, "invalid_json");
    const plain = await call(`/v1/jobs/${ran.jobId}/attempts/${ran.attemptId}/dispute`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.apiKey}`, "content-type": "text/plain" },
      body: "refund me",
    });
    await expectError(plain, 415, "unsupported_media_type");
    await expectError(
      await call("/v1/operator/disputes/dsp_01jf0000000000000000000000/decision", {
        method: "POST",
        headers: { ...OPERATOR, "content-type": "application/json" },
        body: JSON.stringify({ decision: "refund", note: "x" }),
      }),
      404,
      "dispute_not_found",
    );
    await expectError(
      await call("/v1/operator/disputes?state=maybe", { headers: OPERATOR }),
      400,
      "invalid_request",
    );
    await expectError(await call("/v1/operator/disputes", authed(user.apiKey)), 403, "operator_only");
    expect(await counts()).toEqual(stored);

    // Past the window: the attempt ended 8 days ago.
    await env.DB.prepare("UPDATE job_attempts SET ended_at = ended_at - ? WHERE id = ?")
      .bind(8 * 86_400_000, ran.attemptId)
      .run();
    await expectError(await dispute(user.apiKey, ran.jobId, ran.attemptId), 409, "dispute_window_closed");
    expect(await counts()).toEqual(stored);

    // An attempt that charged nothing (lost to its node) has nothing to dispute.
    const lostRes = await submit(user.apiKey, hourly);
    const lostJob = ((await lostRes.json()) as { id: string }).id;
    const [a] = (await agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    await agent.start(a);
    await agent.report(a.attemptId, {
      type: "exited",
      fencing: a.fencing,
      at: Date.now(),
      exitCode: null,
      reason: "error",
    });
    const afterFault = await counts();
    await expectError(await dispute(user.apiKey, lostJob, a.attemptId), 409, "nothing_charged");
    expect(await counts()).toEqual(afterFault);

    // The second dispute of the same attempt.
    const once = await runOn(agent, user.apiKey, { ...hourly, command: ["sh", "-c", "exit 8"] }, 8);
    expect((await dispute(user.apiKey, once.jobId, once.attemptId)).status).toBe(201);
    const afterFirst = await counts();
    await expectError(await dispute(user.apiKey, once.jobId, once.attemptId), 409, "already_disputed");
    expect(await counts()).toEqual(afterFirst);
  });
});
