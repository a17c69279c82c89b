import { describe, expect, it } from "vitest";
import { shardOf } from "../../src/durable/scheduler/index.js";
import { publicKeyOf } from "../../src/shared/agent-signature.js";
import { nodeIdForPublicKey } from "../../src/shared/ids.js";
import { call, drainAgents, hardware, jobOf, jsonInit, regionObject, signup, TestAgent } from "./support.js";

// vitest.workers.config.ts splits "sa-east" into 3 Region objects (REGION_SHARDS). Each shard
// publishes its free CPU to the coordinator, which places CPU-only work by it.
const REGION = "sa-east";
const SHARDS = 3;
const objectName = (shard: number): string => (shard === 0 ? REGION : `${REGION}#${shard}`);
const base = { image: "meridian/busybox:test", command: ["true"], region: REGION, timeoutSeconds: 600 };

/** One CPU-only agent of `cpus` cores in each shard (keys drawn until each shard has one). */
async function cpuAgentPerShard(cpus: number): Promise<TestAgent[]> {
  const byShard: (TestAgent | undefined)[] = Array.from({ length: SHARDS }, () => undefined);
  while (byShard.some((agent) => agent === undefined)) {
    const agent = new TestAgent();
    const shard = shardOf(await nodeIdForPublicKey(await publicKeyOf(agent.secretKey)), SHARDS);
    if (byShard[shard] === undefined) {
      await agent.register(hardware([], cpus, 65536), { region: REGION });
      byShard[shard] = agent;
    }
  }
  return byShard.filter((agent): agent is TestAgent => agent !== undefined);
}

async function submitted(apiKey: string, spec: unknown): Promise<{ id: string }> {
  const res = await call("/v1/jobs", jsonInit("POST", spec, apiKey));
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  return res.json();
}

async function freeCpuOf(shard: number): Promise<number> {
  const answer = (await regionObject(objectName(shard)).shardSummary()) as {
    ok: true;
    value: { cpu: { freeMilli: number } };
  };
  return answer.value.cpu.freeMilli;
}

describe("CPU-only work across a sharded region", () => {
  it("spreads by the shards' free CPU: every shard is filled before any job queues", async () => {
    const { apiKey } = await signup();
    const agents = await cpuAgentPerShard(4);
    for (let shard = 0; shard < SHARDS; shard++) expect(await freeCpuOf(shard)).toBe(4000);

    // Six 2-core jobs on three 4-core nodes, one node per shard: each fits only where 2 cores are
    // still free. Counting CPU-only nodes (each shard "has room" while its node is live, full or
    // not) lets them pile onto one shard and queue there while the others sit idle.
    const jobs = [];
    for (let index = 0; index < 6; index++)
      jobs.push(await submitted(apiKey, { ...base, name: `cpu-${index}`, resources: { gpus: 0, cpus: 2 } }));
    const perNode = new Map<string, number>();
    for (const job of jobs) {
      const view = await jobOf(apiKey, job.id);
      expect(view.status, `job ${job.id} should be placed`).toBe("assigned");
      const nodeId = view.nodeId ?? "";
      expect(shardOf(nodeId, SHARDS)).toBe(shardOf(job.id, SHARDS));
      perNode.set(nodeId, (perNode.get(nodeId) ?? 0) + 1);
    }
    expect([...perNode.keys()].sort()).toEqual(agents.map((agent) => agent.nodeId).sort());
    expect([...perNode.values()]).toEqual([2, 2, 2]);
    for (let shard = 0; shard < SHARDS; shard++) expect(await freeCpuOf(shard)).toBe(0);

    // A seventh has no room anywhere: it queues and says why.
    const seventh = await submitted(apiKey, { ...base, name: "cpu-6", resources: { gpus: 0, cpus: 2 } });
    expect((await jobOf(apiKey, seventh.id)).status).toBe("queued");
    await drainAgents();
  });
});
