import { afterEach, describe, expect, it } from "vitest";
import { authed, call, drainAgents, hardware, jsonInit, signup, submit, TestAgent } from "./support.js";

interface ErrorBody {
  error: { code: string; message: string; details?: { issues?: { path: string; message: string }[] } };
}

const base = { image: "meridian/busybox:test", command: ["true"], timeoutSeconds: 600 };

// What a newcomer tripped on (issue 12), each answered in words that say what to do.
describe("messages a newcomer reads", () => {
  afterEach(drainAgents);

  it("names the reserved MERIDIAN_ env prefix, not 'Invalid key in record'", async () => {
    const { apiKey } = await signup();
    const res = await submit(apiKey, { ...base, name: "env", env: { MERIDIAN_TOKEN: "x" } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.message).toContain("env.MERIDIAN_TOKEN: names starting MERIDIAN_ are set by Meridian");
    expect(body.error.details?.issues?.[0]).toEqual({
      path: "env.MERIDIAN_TOKEN",
      message: "names starting MERIDIAN_ are set by Meridian",
    });
  });

  it("says usage needs from and to, and their format", async () => {
    const { apiKey } = await signup();
    const missing = (await (await call("/v1/usage", authed(apiKey))).json()) as ErrorBody;
    expect(missing.error.code).toBe("invalid_request");
    expect(missing.error.message).toContain("from: required: a date (2026-12-01) or an ISO-8601 time");
    expect(missing.error.details?.issues?.map((issue) => issue.path)).toEqual(["from", "to"]);
    const res = await call("/v1/usage?from=yesterday&to=2026-12-01", authed(apiKey));
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.message).toContain("from: not a date (2026-12-01)");
  });

  it("says plainly that no node in reach has a GPU, what would help, and that credit is held", async () => {
    const cpu = new TestAgent();
    await cpu.register(hardware([]), { region: "ap-southeast" });
    await cpu.poll();
    const { apiKey } = await signup();
    const spec = {
      ...base,
      name: "gpu-on-cpu",
      region: "ap-southeast",
      resources: { gpus: 1, cpus: 1, memoryGb: 1 },
      maxPricePerGpuHour: "5.00",
    };
    const estimate = (await (await call("/v1/estimates", jsonInit("POST", spec, apiKey))).json()) as {
      offers: number;
      noOffersReason: string | null;
    };
    expect(estimate.offers).toBe(0);
    expect(estimate.noOffersReason).toContain("no node in reach has a GPU");
    expect(estimate.noOffersReason).toContain("resources.gpus: 0");
    const res = await submit(apiKey, spec);
    expect(res.status).toBe(201);
    const job = (await res.json()) as {
      status: string;
      reason: string;
      cost: { heldMicros: number; held: string };
      explanation: { message: string; relaxations: { field: string; value?: number; text: string }[] };
    };
    expect(job.status).toBe("queued");
    expect(job.explanation.message).toContain(
      "no node in this region has a GPU (its 1 node(s) are CPU-only)",
    );
    expect(job.explanation.message).not.toContain("binding constraint");
    expect(job.explanation.relaxations[0]).toMatchObject({ field: "resources.gpus", value: 0 });
    // The hold is said with the reason, so credit is never tied up without a word.
    expect(job.cost.heldMicros).toBeGreaterThan(0);
    expect(job.reason).toContain(
      `$${job.cost.held} stays held on your balance until the job starts or you cancel it`,
    );
  });

  it("lists a node outside its operating windows as draining, and blames that rather than a label", async () => {
    const node = new TestAgent();
    await node.register(hardware([]), { region: "us-west", labels: { site: "lab-1" } });
    const res = await node.send("/v1/agent/poll", { running: [], acceptingWork: false, waitMs: 0 });
    expect(res.status).toBe(200);
    const { apiKey } = await signup();
    const nodes = (await (await call("/v1/nodes", authed(apiKey))).json()) as {
      nodes: { id: string; status: string }[];
    };
    expect(nodes.nodes.find((n) => n.id === node.nodeId)?.status).toBe("draining");
    const job = (await (
      await submit(apiKey, {
        ...base,
        name: "labelled",
        region: "us-west",
        resources: { cpus: 1, memoryGb: 1 },
        placement: { requiredLabels: { site: "lab-2" } },
      })
    ).json()) as {
      status: string;
      explanation: { binding: string; message: string; relaxations: unknown[] };
    };
    expect(job.status).toBe("queued");
    expect(job.explanation.binding).toBe("offline");
    expect(job.explanation.message).toContain("each is draining (outside its operating windows");
    expect(job.explanation.relaxations).toEqual([]);
  });
});
