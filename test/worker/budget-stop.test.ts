import { afterEach, describe, expect, it } from "vitest";
import { authed, call, drainAgents, H100, hardware, jobOf, signup, submit, TestAgent } from "./support.js";

describe("a job that reaches its budget", () => {
  afterEach(drainAgents);

  it("is given only the run time its budget buys, and ends budget_exhausted with its output kept", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([H100]), { pricePerGpuHour: "3.60" });
    // 3.60/h on one GPU is 1,000 µUSD a second: 0.05 buys 50 seconds of a 1-hour timeout.
    const res = await submit(apiKey, {
      name: "capped",
      image: "meridian/busybox:test",
      command: ["sh", "-c", "echo working; sleep 3600"],
      region: "eu-west",
      resources: { gpus: 1 },
      maxPricePerGpuHour: "3.60",
      timeoutSeconds: 3600,
      budget: { maxTotalUsd: "0.05" },
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const [a] = (await agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    expect(a.timeoutSeconds).toBe(50);

    // The agent stops the container at that limit and reports a timeout.
    await agent.start(a);
    await agent.report(a.attemptId, {
      type: "logs",
      fencing: a.fencing,
      chunks: [{ stream: "stdout", data: "working\n", at: Date.now() }],
    });
    await agent.exit(a, 137, "timeout");

    const job = await jobOf(apiKey, id);
    expect(job).toMatchObject({ status: "failed", reason: "budget_exhausted" });
    const events = (await (await call(`/v1/jobs/${id}/events`, authed(apiKey))).json()) as {
      events: { status: string; reason: string | null }[];
    };
    expect(events.events.at(-1)).toMatchObject({ status: "failed", reason: "budget_exhausted" });
    expect(await (await call(`/v1/jobs/${id}/logs`, authed(apiKey))).text()).toBe("working\n");
    // Charged for what ran (here: a second), never more than the budget; the rest of the hold went back.
    const view = (await (await call(`/v1/jobs/${id}`, authed(apiKey))).json()) as {
      cost: { chargedMicros: number; heldMicros: number };
    };
    expect(view.cost.chargedMicros).toBeGreaterThan(0);
    expect(view.cost.chargedMicros).toBeLessThanOrEqual(50_000);
    expect(view.cost.heldMicros).toBe(0);
  });

  it("runs to its timeout when the budget covers it", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([{ ...H100, uuid: "GPU-cccccccc-0000-0000-0000-000000000000" }]), {
      pricePerGpuHour: "1.00",
    });
    const res = await submit(apiKey, {
      name: "roomy",
      image: "meridian/busybox:test",
      region: "eu-west",
      resources: { gpus: 1 },
      maxPricePerGpuHour: "1.00",
      timeoutSeconds: 600,
      budget: { maxTotalUsd: "3.00" },
    });
    expect(res.status).toBe(201);
    const [a] = (await agent.poll()).assignments;
    expect(a?.timeoutSeconds).toBe(600);
  });
});
