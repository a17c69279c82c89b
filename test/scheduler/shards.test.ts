import { describe, expect, it } from "vitest";
import {
  assertNodeHere,
  newJobIdHere,
  type ShardsEnv,
  shardCountOf,
  shardPlaceOf,
  wrongShardForJob,
} from "../../src/durable/region-shard.js";
import {
  assertOwnShard,
  fallbackShard,
  parseShardKey,
  ShardedScheduler,
  shardName,
  shardObjectName,
  shardOf,
  shardOfObjectName,
  shardOrder,
} from "../../src/durable/scheduler/index.js";
import { MeridianError } from "../../src/shared/errors.js";
import { prng } from "../support/prng.js";
import { demand, gpuNode } from "./nodes.js";

const refusal = (work: () => unknown): { status: number; code: string } | undefined => {
  try {
    work();
  } catch (error) {
    if (error instanceof MeridianError) return { status: error.status, code: error.code };
    throw error;
  }
  return undefined;
};

describe("shard keys", () => {
  it("spreads node ids evenly and stably", () => {
    const counts = new Array<number>(8).fill(0);
    for (let index = 0; index < 8000; index++) {
      const shard = shardOf(`node_01J${index.toString(36).padStart(8, "0")}`, 8);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    for (const count of counts) expect(Math.abs(count - 1000)).toBeLessThan(150);
    expect(shardOf("node_abc", 8)).toBe(shardOf("node_abc", 8));
  });

  it("reads a shard's name back and refuses one that names no shard", () => {
    expect(parseShardKey(shardName("eu-west", 3), "eu-west", 4)).toBe(3);
    for (const key of [
      "eu-west#4",
      "eu-west#-1",
      "eu-west#01",
      "eu-west#x",
      "eu-west",
      "us-east#0",
      "eu-west#1e3",
    ]) {
      expect(refusal(() => parseShardKey(key, "eu-west", 4))).toEqual({ status: 404, code: "unknown_shard" });
    }
  });

  it("refuses a node's request at a shard that is not its own", () => {
    const own = shardOf("node_x", 4);
    expect(refusal(() => assertOwnShard("node_x", own, 4))).toBeUndefined();
    expect(refusal(() => assertOwnShard("node_x", (own + 1) % 4, 4))).toEqual({
      status: 409,
      code: "wrong_shard",
    });
  });
});

describe("placement across shards", () => {
  const region = (
    count: number,
    nodes: number,
    options: Parameters<typeof gpuNode>[1] = {},
  ): ShardedScheduler => {
    const sharded = new ShardedScheduler({ shards: count, random: prng(7) });
    for (let index = 0; index < nodes; index++) sharded.upsertNode(gpuNode(`node_${index}`, options));
    return sharded;
  };

  it("puts each node in its hash's shard", () => {
    const sharded = region(4, 40);
    for (let index = 0; index < 40; index++) {
      const id = `node_${index}`;
      expect(sharded.shards[sharded.shardOf(id)]?.inventory.node(id)).toBeDefined();
    }
  });

  it("finds the one shard that has the model a job asks for", () => {
    const sharded = region(4, 40);
    sharded.upsertNode(gpuNode("node_h100", { model: "H100-SXM" }));
    const placement = sharded.place("job", demand({ constraints: { gpuModels: ["H100-SXM"] } }));
    expect(placement?.nodes[0]?.nodeId).toBe("node_h100");
    expect(placement?.shard).toBe(sharded.shardOf("node_h100"));
  });

  it("keeps a gang within one shard", () => {
    const sharded = region(4, 64, { gpuCount: 8 });
    const placement = sharded.place("gang", demand({ gpus: 8, nodes: 4 }));
    expect(placement?.nodes).toHaveLength(4);
    for (const member of placement?.nodes ?? [])
      expect(sharded.shardOf(member.nodeId)).toBe(placement?.shard);
  });

  it("fills every shard before it refuses, and frees on release", () => {
    const sharded = region(4, 20);
    const keys = Array.from({ length: 20 }, (_, index) => `job_${index}`);
    for (const key of keys) expect(sharded.place(key, demand())).not.toBeNull();
    expect(sharded.place("one-too-many", demand())).toBeNull();
    expect(sharded.place("job_0", demand())).toBeNull();
    expect(sharded.release("job_3")).toBe(true);
    expect(sharded.release("job_3")).toBe(false);
    expect(sharded.place("after-release", demand())).not.toBeNull();
  });

  it("spreads CPU-only work by free CPU, not by node count, and skips a shard without the CPU", () => {
    // Shard 0 has one big CPU node, shard 1 three small ones: node counts would favour shard 1.
    const sharded = new ShardedScheduler({ shards: 2, random: prng(5) });
    const inShard = (shard: number, count: number): string[] => {
      const ids: string[] = [];
      for (let index = 0; ids.length < count; index++)
        if (sharded.shardOf(`cpu_${index}`) === shard && !ids.includes(`cpu_${index}`))
          ids.push(`cpu_${index}`);
      return ids;
    };
    const big = inShard(0, 1);
    const small = inShard(1, 3);
    for (const id of big) sharded.upsertNode({ ...gpuNode(id, { gpuCount: 0 }), gpus: [], cpuMilli: 64_000 });
    for (const id of small)
      sharded.upsertNode({ ...gpuNode(id, { gpuCount: 0 }), gpus: [], cpuMilli: 4_000 });
    const summaries = sharded.published();
    expect(summaries.map((summary) => summary.cpu.freeMilli)).toEqual([64_000, 12_000]);
    const cpuJob = demand({ gpus: 0, cpuMilli: 4_000 });
    expect(sharded.choose(cpuJob)).toEqual([0, 1]);
    // 16 four-core jobs fill shard 0 alone; then shard 1 takes three; then no shard has room.
    const shards: number[] = [];
    for (let index = 0; index < 19; index++)
      shards.push(sharded.place(`cpu_job_${index}`, cpuJob)?.shard ?? -1);
    expect(shards.filter((shard) => shard === 0)).toHaveLength(16);
    expect(shards.filter((shard) => shard === 1)).toHaveLength(3);
    expect(sharded.published().map((summary) => summary.cpu.freeMilli)).toEqual([0, 0]);
    expect(sharded.choose(cpuJob)).toEqual([]);
    expect(sharded.place("one-too-many", cpuJob)).toBeNull();
    // A release frees the CPU in the summary; memory counts as well.
    expect(sharded.release("cpu_job_0")).toBe(true);
    expect(sharded.published()[0]?.cpu.freeMilli).toBe(4_000);
    expect(sharded.choose(demand({ gpus: 0, cpuMilli: 1_000, memoryMib: 1024 * 1024 }))).toEqual([]);
  });

  it("refuses a region of no shards", () => {
    expect(refusal(() => new ShardedScheduler({ shards: 0 }))).toEqual({
      status: 400,
      code: "invalid_shards",
    });
  });
});

describe("a region's shards as configured and named", () => {
  const envOf = (value: string | undefined): ShardsEnv => ({ REGION_SHARDS: value });

  it("reads REGION_SHARDS as one count for every region or counts by region, 1 when unset", () => {
    expect(shardCountOf(envOf(undefined), "eu-west")).toBe(1);
    expect(shardCountOf(envOf(""), "eu-west")).toBe(1);
    expect(shardCountOf(envOf("4"), "eu-west")).toBe(4);
    expect(shardCountOf(envOf('{"us-east": 3}'), "us-east")).toBe(3);
    expect(shardCountOf(envOf('{"us-east": 3}'), "eu-west")).toBe(1);
    for (const bad of ["0", "65", "1.5", "x", '{"us-east": 0}', "[2]"])
      expect(() => shardCountOf(envOf(bad), "us-east")).toThrow(/REGION_SHARDS/);
  });

  it("names shard 0 as the region itself and reads the names back", () => {
    expect(shardObjectName("eu-west", 0)).toBe("eu-west");
    expect(shardObjectName("eu-west", 2)).toBe("eu-west#2");
    expect(shardOfObjectName("eu-west")).toEqual({ region: "eu-west", index: 0 });
    expect(shardOfObjectName("eu-west#2")).toEqual({ region: "eu-west", index: 2 });
    const place = shardPlaceOf(envOf("3"), "eu-west#2");
    expect(place).toEqual({ region: "eu-west", index: 2, count: 3 });
    for (let draw = 0; draw < 20; draw++) expect(shardOf(newJobIdHere(place, Date.now()), 3)).toBe(2);
  });

  it("refuses a node or a job of another shard, naming the right one", () => {
    const place = shardPlaceOf(envOf("4"), "eu-west#1");
    const other = Array.from({ length: 50 }, (_, index) => `node_${index}`).find(
      (id) => shardOf(id, 4) !== 1,
    );
    if (!other) throw new Error("no node of another shard");
    expect(refusal(() => assertNodeHere(place, other))).toEqual({ status: 409, code: "wrong_shard" });
    expect(wrongShardForJob(place, "job_x").message).toContain(`eu-west#${shardOf("job_x", 4)}`);
  });

  it("samples two shards with room, roomier first, and skips shards too small for a gang", () => {
    const summary = (shard: number, freeMilli: number, nodes: number) => ({
      shard,
      models: new Map([["RTX-4090", { freeMilli, nodesByWholeFree: [0, nodes] }]]),
      cpu: { freeMilli: nodes * 32_000, freeMemoryMib: nodes * 131_072 },
      nodes,
    });
    const summaries = [summary(0, 1000, 1), summary(1, 5000, 5), summary(2, 0, 4), summary(3, 3000, 3)];
    const order = shardOrder(summaries, demand(), prng(3));
    expect(order).not.toContain(2);
    expect(order).toHaveLength(3);
    const gang = shardOrder(summaries, demand({ nodes: 4 }), prng(3));
    expect(gang).toEqual([1]);
    expect(fallbackShard(summaries)).toBe(1);
  });
});
