import { afterEach, describe, expect, it } from "vitest";
import type { Assignment } from "../../src/shared/agent-protocol.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  H100,
  hardware,
  jobOf,
  jsonInit,
  signup,
  submit,
  TestAgent,
} from "./support.js";

const base = { image: "meridian/busybox:test", command: ["true"], region: "eu-west", timeoutSeconds: 600 };

function gpu(n: number): typeof H100 {
  return { ...H100, index: 0, uuid: `GPU-${String(n).padStart(8, "0")}-0000-0000-0000-000000000000` };
}

async function provider(
  price: string,
  labels: Record<string, string> = {},
  gpus = [gpu(Math.floor(Math.random() * 1e8))],
): Promise<TestAgent> {
  const agent = new TestAgent();
  await agent.register(hardware(gpus), { pricePerGpuHour: price, labels });
  return agent;
}

async function finish(agent: TestAgent, a: Assignment, exitCode = 0): Promise<void> {
  await agent.start(a);
  await agent.report(a.attemptId, {
    type: "exited",
    fencing: a.fencing,
    at: Date.now(),
    exitCode,
    reason: "completed",
  });
}

describe("placement", () => {
  afterEach(drainAgents);

  it("places a gang on nodes of one site, all at once, with the rendezvous variables", async () => {
    const { apiKey } = await signup();
    const far = await provider("1.00", { site: "lab-b", address: "10.9.0.1" });
    const a = await provider("1.50", { site: "lab-a", address: "10.0.0.1" });
    const b = await provider("1.50", { site: "lab-a", address: "10.0.0.2" });
    const res = await submit(apiKey, { ...base, name: "ddp", nodes: 2, resources: { gpus: 1 } });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const got = [...(await a.poll()).assignments, ...(await b.poll()).assignments];
    expect((await far.poll()).assignments).toHaveLength(0);
    expect(got.map((x) => x.jobId)).toEqual([id, id]);
    const ranks = got.map((x) => x.env.MERIDIAN_RANK).sort();
    expect(ranks).toEqual(["0", "1"]);
    const master = got.find((x) => x.env.MERIDIAN_RANK === "0");
    for (const x of got) {
      expect(x.env).toMatchObject({
        MERIDIAN_WORLD_SIZE: "2",
        WORLD_SIZE: "2",
        MASTER_PORT: "29500",
        MERIDIAN_MASTER_ADDR: master?.env.MERIDIAN_NODE_ID === a.nodeId ? "10.0.0.1" : "10.0.0.2",
      });
      expect(x.env.RANK).toBe(x.env.MERIDIAN_RANK);
    }
    // Both members report; the job succeeds only when every member exited 0.
    const [first, second] = got;
    if (!first || !second) throw new Error("two assignments expected");
    const agentOf = (x: Assignment) => (x.env.MERIDIAN_NODE_ID === a.nodeId ? a : b);
    await finish(agentOf(first), first);
    expect((await jobOf(apiKey, id)).status).toBe("running");
    await finish(agentOf(second), second);
    expect((await jobOf(apiKey, id)).status).toBe("succeeded");
  });

  it("fails a gang when one member fails, and stops the others", async () => {
    const { apiKey } = await signup();
    const a = await provider("1.00", { site: "s" });
    const b = await provider("1.00", { site: "s" });
    const { id } = (await (
      await submit(apiKey, { ...base, name: "g", nodes: 2, resources: { gpus: 1 } })
    ).json()) as {
      id: string;
    };
    const [x] = (await a.poll()).assignments;
    const [y] = (await b.poll()).assignments;
    if (!x || !y) throw new Error("both members expected");
    await b.start(y);
    await finish(a, x, 3);
    expect(await jobOf(apiKey, id)).toMatchObject({ status: "failed", exitCode: 3 });
    const orders = await b.poll([{ attemptId: y.attemptId, fencing: y.fencing }]);
    expect(orders.stop).toEqual([{ attemptId: y.attemptId, reason: "cancelled" }]);
    const exit = await b.exit(y, 143, "cancelled");
    expect(exit.status).toBe(200);
  });

  it("refuses at submit a gang larger than any region and a radius that reaches no region", async () => {
    const { apiKey } = await signup();
    await provider("1.00");
    await expectError(
      await submit(apiKey, { ...base, name: "big", nodes: 64, resources: { gpus: 1 } }),
      422,
      "infeasible_job",
    );
    await expectError(
      await submit(apiKey, {
        ...base,
        name: "pacific",
        region: undefined,
        placement: { near: { lat: -48.9, lon: -123.4, radiusKm: 100 } },
      }),
      422,
      "infeasible_job",
    );
  });

  it("prefers the cheapest node for the cheapest strategy", async () => {
    const { apiKey } = await signup();
    const dear = await provider("3.00");
    const cheap = await provider("0.80");
    const { id } = (await (
      await submit(apiKey, { ...base, name: "c", strategy: "cheapest", resources: { gpus: 1 } })
    ).json()) as {
      id: string;
    };
    expect((await jobOf(apiKey, id)).nodeId).toBe(cheap.nodeId);
    expect((await dear.poll()).assignments).toHaveLength(0);
    const [a] = (await cheap.poll()).assignments;
    if (!a) throw new Error("no assignment");
    await finish(cheap, a);
  });

  it("places a job elsewhere when a node's host policy refuses its image, without failing it", async () => {
    const { apiKey } = await signup();
    const picky = await provider("1.00");
    const { id } = (await (await submit(apiKey, { ...base, name: "p", resources: { gpus: 1 } })).json()) as {
      id: string;
    };
    const [a] = (await picky.poll()).assignments;
    if (!a) throw new Error("no assignment");
    const other = await provider("1.00");
    const refused = await picky.report(a.attemptId, {
      type: "exited",
      fencing: a.fencing,
      at: Date.now(),
      exitCode: null,
      reason: "error",
      message: "host policy refused the image: denied by **:latest",
      errorKind: "host_policy",
    });
    expect(refused.status).toBe(200);
    const job = await jobOf(apiKey, id);
    expect(job).toMatchObject({ status: "assigned", nodeId: other.nodeId });
    const [b] = (await other.poll()).assignments;
    if (!b) throw new Error("not placed on the other node");
    expect(b.env.MERIDIAN_ATTEMPT).toBe("1");
    await finish(other, b);
    expect((await jobOf(apiKey, id)).status).toBe("succeeded");
  });

  it("quotes a spec: where it would run and for how much, or why not and what would place it", async () => {
    const { apiKey } = await signup();
    await provider("2.40", { site: "q" });
    const quote = async (spec: unknown) =>
      (await (await call("/v1/quotes", jsonInit("POST", spec, apiKey))).json()) as {
        placeable: boolean;
        perHour: string | null;
        nodes: unknown[];
        explanation: { binding: string | null; relaxations: { text: string }[] };
      };
    const yes = await quote({ ...base, name: "q", resources: { gpus: 1 }, maxPricePerGpuHour: "3.00" });
    expect(yes).toMatchObject({ placeable: true, perHour: "2.40" });
    expect(yes.nodes).toHaveLength(1);
    const no = await quote({ ...base, name: "q", resources: { gpus: 1 }, maxPricePerGpuHour: "2.00" });
    expect(no.placeable).toBe(false);
    expect(no.explanation.binding).toBe("price");
    expect(no.explanation.relaxations.map((r) => r.text)).toContain("raise maxPricePerGpuHour to 2.40");
    await expectError(
      await call("/v1/quotes", jsonInit("POST", { name: "x" }, apiKey)),
      400,
      "invalid_request",
    );
  });
});

describe("the queue", () => {
  afterEach(drainAgents);

  it("runs higher priority first and shares capacity fairly between accounts", async () => {
    const alice = await signup();
    const bob = await signup();
    const agent = await provider("1.00", {}, [gpu(777)]);
    const spec = { ...base, name: "q", resources: { gpus: 1 }, maxPricePerGpuHour: "1.00" };
    const ids: Record<string, string> = {};
    for (const [name, key, priority] of [
      ["a1", alice.apiKey, 4],
      ["a2", alice.apiKey, 4],
      ["a3", alice.apiKey, 4],
      ["b1", bob.apiKey, 4],
      ["urgent", bob.apiKey, 9],
    ] as const) {
      ids[name] = ((await (await submit(key, { ...spec, name, priority })).json()) as { id: string }).id;
    }
    const order: string[] = [];
    const names = Object.fromEntries(Object.entries(ids).map(([name, id]) => [id, name]));
    for (let i = 0; i < 5; i++) {
      const [a] = (await agent.poll()).assignments;
      if (!a) throw new Error(`nothing placed at step ${i}`);
      order.push(names[a.jobId] ?? a.jobId);
      await finish(agent, a);
    }
    // a1 took the free GPU at once; then priority, then the account holding less goes first.
    expect(order).toEqual(["a1", "urgent", "a2", "b1", "a3"]);
  });
});

describe("job views", () => {
  it("explain a queued job in the list as well", async () => {
    const { apiKey } = await signup();
    await submit(apiKey, {
      ...base,
      name: "lonely",
      region: "ap-southeast",
      resources: { gpus: 1 },
      maxPricePerGpuHour: "1",
    });
    const list = (await (await call("/v1/jobs", authed(apiKey))).json()) as {
      jobs: { reason: string; explanation: { message: string } }[];
    };
    expect(list.jobs[0]?.reason).toMatch(/no nodes are registered in region ap-southeast/);
  });
});
