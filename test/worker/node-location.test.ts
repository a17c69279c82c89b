import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import {
  CONSTRAINT_REGISTRY,
  type Fact,
  type Scheduler,
  type SchedulerNode,
} from "../../src/durable/scheduler/index.js";
import type { RegisterResponse } from "../../src/shared/agent-protocol.js";
import {
  call,
  drainAgents,
  expectError,
  H100,
  hardware,
  jobOf,
  regionObject,
  signup,
  submit,
  TestAgent,
} from "./support.js";

const base = {
  name: "located",
  image: "meridian/busybox:test",
  command: ["true"],
  region: "eu-west",
  timeoutSeconds: 600,
};
const BERLIN = { lat: 52.52, lon: 13.405 };
const PARIS = { latitude: "48.8566", longitude: "2.3522", country: "FR" };

function gpu(): typeof H100 {
  const n = Math.floor(Math.random() * 1e8);
  return {
    ...H100,
    index: 0,
    uuid: `GPU-${String(n).padStart(8, "0")}-0000-0000-0000-000000000000`,
    // What the agent's nvidia-smi detection reports for every GPU.
    driverVersion: "550.54.14",
    cudaVersion: "12.4",
    computeCapability: "9.0",
  };
}

/** Registers as an agent whose connection Cloudflare places in Paris (request.cf), reporting nothing itself. */
async function registerFromParis(agent: TestAgent): Promise<void> {
  const body = {
    hardware: hardware([gpu()]),
    pricePerGpuHour: "2.00",
    agentVersion: "test",
    runtime: "docker",
    region: "eu-west",
  };
  const signed = await agent.signedRequest("/v1/agent/register", body);
  const res = await exports.default.fetch(new Request(signed, { cf: PARIS }));
  expect(res.status).toBe(200);
  const registered = (await res.json()) as RegisterResponse;
  agent.nodeId = registered.nodeId;
  agent.region = registered.region;
}

async function placedOn(apiKey: string, placement: unknown, agents: TestAgent[]): Promise<string[]> {
  const res = await submit(apiKey, { ...base, resources: { gpus: 1 }, placement });
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const got: string[] = [];
  for (const agent of agents) {
    for (const a of (await agent.poll()).assignments) {
      if (a.jobId === id) {
        got.push(agent.nodeId);
        // Finish it, so the node's GPU is free for the next placement.
        await agent.start(a);
        await agent.exit(a);
      }
    }
  }
  if (got.length === 0) {
    const job = (await jobOf(apiKey, id)) as { status: string };
    expect(job.status).toBe("queued");
    await call(`/v1/jobs/${id}/cancel`, { method: "POST", headers: { authorization: `Bearer ${apiKey}` } });
  }
  return got;
}

/** The scheduler's own view of these nodes, read inside the Region object. */
async function schedulerViews(agents: TestAgent[]): Promise<SchedulerNode[]> {
  return runInDurableObject(regionObject(), (instance) => {
    const { scheduler } = (instance as unknown as { state: { scheduler: Scheduler } }).state;
    return agents.flatMap((agent) => scheduler.inventory.node(agent.nodeId)?.node ?? []);
  });
}

/** Whether the node carries the fact's field (a non-empty one, for lists and label sets). */
function carries(node: SchedulerNode, path: Fact["reads"][number]): boolean {
  if (path.startsWith("gpus[].")) {
    const key = path.slice("gpus[].".length) as keyof SchedulerNode["gpus"][number];
    return node.gpus.some((gpu) => gpu[key] !== undefined);
  }
  const value = node[path as keyof SchedulerNode];
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object" && value !== null) return Object.keys(value).length > 0;
  return value !== undefined;
}

describe("location and bandwidth reach the scheduler from registration", () => {
  afterEach(drainAgents);

  it("meets near, countries and minBandwidthGbps with what agents reported or their connection showed", async () => {
    const { apiKey } = await signup();
    const berlin = new TestAgent();
    await berlin.register(hardware([gpu()]), {
      location: { ...BERLIN, country: "DE" },
      bandwidthGbps: 25,
      labels: { fabric: "nvlink" },
    });
    const paris = new TestAgent();
    await registerFromParis(paris);
    const nowhere = new TestAgent();
    await nowhere.register(hardware([gpu()]));
    const all = [berlin, paris, nowhere];

    // Every constraint in the registry reads a fact that real registrations deliver: a new
    // constraint whose fact nothing records fails here (as near and bandwidth once did).
    const views = await schedulerViews(all);
    expect(views).toHaveLength(3);
    for (const record of CONSTRAINT_REGISTRY) {
      if (record.fact.arrives !== "registration" && record.fact.arrives !== "scheduler") continue;
      for (const path of record.fact.reads) {
        expect(
          views.some((node) => carries(node, path)),
          `${record.name} reads ${path}, which no registered node carries`,
        ).toBe(true);
      }
    }

    // near: satisfied by the node that said where it is, and by the one its connection placed.
    expect(await placedOn(apiKey, { near: { ...BERLIN, radiusKm: 100 } }, all)).toEqual([berlin.nodeId]);
    expect(await placedOn(apiKey, { near: { lat: 48.85, lon: 2.35, radiusKm: 50 } }, all)).toEqual([
      paris.nodeId,
    ]);
    // Refused by every node: nothing within 50 km of Brussels.
    expect(await placedOn(apiKey, { near: { lat: 50.85, lon: 4.35, radiusKm: 50 } }, all)).toEqual([]);
    // countries: from the agent's report and from the connection.
    expect(await placedOn(apiKey, { countries: ["FR"] }, all)).toEqual([paris.nodeId]);
    expect(await placedOn(apiKey, { countries: ["DE"] }, all)).toEqual([berlin.nodeId]);
    // minBandwidthGbps: the node that measured 25 Gbit/s meets 10, none meets 50.
    expect(await placedOn(apiKey, { minBandwidthGbps: 10 }, all)).toEqual([berlin.nodeId]);
    expect(await placedOn(apiKey, { minBandwidthGbps: 50 }, all)).toEqual([]);
  });

  it("refuses an impossible location or bandwidth at registration, registering nothing", async () => {
    for (const extra of [
      { location: { lat: 91, lon: 0 } },
      { location: { lat: 10, lon: 181 } },
      { location: { country: "Germany" } },
      { location: { lat: 10 } },
      { bandwidthGbps: -1 },
      { bandwidthGbps: 0 },
      { bandwidthGbps: 5000 },
    ]) {
      const agent = new TestAgent();
      const res = await agent.send("/v1/agent/register", {
        hardware: hardware([gpu()]),
        pricePerGpuHour: "2.00",
        agentVersion: "test",
        runtime: "docker",
        region: "eu-west",
        ...extra,
      });
      await expectError(res, 400, "invalid_request");
      expect(agent.nodeId).toBe("");
    }
  });

  it("serves a bandwidth probe of the asked size, and refuses sizes outside 1 KiB–16 MiB", async () => {
    const res = await call("/v1/agent/bandwidth-probe?bytes=1048576");
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(1_048_576);
    await expectError(await call("/v1/agent/bandwidth-probe?bytes=20"), 400, "invalid_request");
    await expectError(await call("/v1/agent/bandwidth-probe?bytes=99999999"), 400, "invalid_request");
  });
});
