import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RegionObject } from "../../src/durable/region-object.js";
import { unwrap } from "../../src/durable/rpc-result.js";
import { newId } from "../../src/shared/ids.js";
import { JobSpec } from "../../src/shared/job-spec.js";
import { H100, hardware, signup, TestAgent } from "./support.js";

// In its own file: the losers stay queued, and storage is shared by the tests of a file.
describe("the last free GPU", () => {
  it("goes to exactly one of 1,000 jobs placed at the same moment", async () => {
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
    const now = Date.now();
    const ids = Array.from({ length: 1000 }, () => newId("job", now));
    // The job rows the region's records update; written in bulk, as the Worker would one by one.
    for (let i = 0; i < ids.length; i += 100) {
      await env.DB.batch(
        ids
          .slice(i, i + 100)
          .map((id) =>
            env.DB.prepare(
              "INSERT INTO jobs (id, account_id, name, region, image, spec, status, attempts, created_at, updated_at) VALUES (?, ?, 'race', 'us-west', ?, ?, 'queued', 0, ?, ?)",
            ).bind(id, accountId, spec.image, JSON.stringify(spec), now, now),
          ),
      );
    }
    const stub: DurableObjectStub<RegionObject> = env.REGION.get(env.REGION.idFromName("us-west"));
    const answers = await Promise.all(
      ids.map(async (id) => unwrap(await stub.submit("us-west", { id, accountId, spec, createdAt: now }))),
    );
    expect(answers.filter((a) => a.status === "assigned")).toHaveLength(1);
    expect(answers.filter((a) => a.status === "queued")).toHaveLength(999);
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
