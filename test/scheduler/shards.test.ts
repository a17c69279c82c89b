import { describe, expect, it } from "vitest";
import {
  assertOwnShard,
  parseShardKey,
  ShardedScheduler,
  shardName,
  shardOf,
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

  it("refuses a region of no shards", () => {
    expect(refusal(() => new ShardedScheduler({ shards: 0 }))).toEqual({
      status: 400,
      code: "invalid_shards",
    });
  });
});
