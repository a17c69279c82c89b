import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SweepItemList } from "../../src/shared/storage/sweep-api.js";
import { STUCK_AFTER, sweepDone, sweepFailed } from "../../src/worker/storage/sweep-backoff.js";
import { operatorToken } from "./ledger-support.js";
import { authed, call, expectError, signup } from "./support.js";

const quietly = async <T>(run: () => Promise<T>): Promise<T> => {
  const [warn, error] = [console.warn, console.error];
  console.warn = () => {};
  console.error = () => {};
  try {
    return await run();
  } finally {
    [console.warn, console.error] = [warn, error];
  }
};

describe("GET /v1/operator/storage/sweeps", () => {
  it("lists the sweeps' failing items, the stuck ones marked and counted; operator only", async () => {
    const now = Date.now();
    const stuckJob = `job_stuck_${now}`;
    const once = `upl_once_${now}`;
    await quietly(async () => {
      for (let i = 0; i < STUCK_AFTER; i++)
        await sweepFailed(
          env,
          "checkpoints",
          stuckJob,
          new Error("AccessDenied: the bucket refused 3 keys"),
          now + i,
        );
      await sweepFailed(env, "upload", once, new Error("connection reset"), now);
    });
    const res = await call("/v1/operator/storage/sweeps", authed(operatorToken()));
    expect(res.status).toBe(200);
    const all = (await res.json()) as SweepItemList;
    const mine = all.items.filter((item) => item.itemId === stuckJob || item.itemId === once);
    expect(mine).toEqual([
      {
        kind: "checkpoints",
        itemId: stuckJob,
        attempts: STUCK_AFTER,
        stuck: true,
        // The fifth failure waits 2^4 minutes.
        retryAt: new Date(now + STUCK_AFTER - 1 + 16 * 60_000).toISOString(),
        lastError: "Error: AccessDenied: the bucket refused 3 keys",
        updatedAt: new Date(now + STUCK_AFTER - 1).toISOString(),
      },
      {
        kind: "upload",
        itemId: once,
        attempts: 1,
        stuck: false,
        retryAt: new Date(now + 60_000).toISOString(),
        lastError: "Error: connection reset",
        updatedAt: new Date(now).toISOString(),
      },
    ]);
    expect(all.stuck).toBeGreaterThanOrEqual(1);

    const stuck = (await (
      await call("/v1/operator/storage/sweeps?only=stuck", authed(operatorToken()))
    ).json()) as SweepItemList;
    expect(stuck.items.every((item) => item.stuck)).toBe(true);
    expect(stuck.items.map((item) => item.itemId)).toContain(stuckJob);
    expect(stuck.items.map((item) => item.itemId)).not.toContain(once);
    expect(stuck.stuck).toBe(stuck.items.length);

    // Done: it leaves the list.
    await sweepDone(env, "checkpoints", stuckJob);
    const after = (await (
      await call("/v1/operator/storage/sweeps?only=stuck", authed(operatorToken()))
    ).json()) as SweepItemList;
    expect(after.items.map((item) => item.itemId)).not.toContain(stuckJob);
    await sweepDone(env, "upload", once);
  });

  it("refuses an account key, no token and a bad query", async () => {
    const { apiKey } = await signup();
    await expectError(await call("/v1/operator/storage/sweeps", authed(apiKey)), 403, "operator_only");
    await expectError(await call("/v1/operator/storage/sweeps"), 401, "unauthorized");
    await expectError(
      await call("/v1/operator/storage/sweeps?only=some", authed(operatorToken())),
      400,
      "invalid_request",
    );
    await expectError(
      await call("/v1/operator/storage/sweeps?limit=5", authed(operatorToken())),
      400,
      "invalid_request",
    );
  });
});
