import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RegionObject } from "../../src/durable/region-object.js";
import { unwrap } from "../../src/durable/rpc-result.js";
import { JobSpec } from "../../src/shared/job-spec.js";
import { H100, hardware, signup, TestAgent } from "./support.js";

// In its own file: the losers stay queued, and storage is shared by the tests of a file.
describe("the last free GPU", () => {
  it("goes to exactly one of 200 jobs placed at the same moment", async () => {
    const { id: accountId } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([H100]), { region: "us-west", pricePerGpuHour: "0.01" });
    const spec = JobSpec.parse({
      name: "race",
      image: "meridian/busybox:test",
      region: "us-west",
      resources: { gpus: 1 },
      maxPricePerGpuHour: "0.01",
      timeoutSeconds: 60,
    });
    const stub: DurableObjectStub<RegionObject> = env.REGION.get(env.REGION.idFromName("us-west"));
    // Straight to the region's submit, as the Worker calls it: each admits its job, then places it.
    const answers = await Promise.all(
      Array.from({ length: 200 }, async () =>
        unwrap(await stub.submit({ accountId, spec, idempotencyKey: undefined })),
      ),
    );
    expect(answers.filter((a) => a.status === "assigned")).toHaveLength(1);
    expect(answers.filter((a) => a.status === "queued")).toHaveLength(199);
    const assigned = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM jobs WHERE account_id = ? AND status = 'assigned'",
    )
      .bind(accountId)
      .first<{ n: number }>();
    expect(assigned?.n).toBe(1);
    const { assignments } = await agent.poll();
    expect(assignments).toHaveLength(1);
  }, 120_000);
});
