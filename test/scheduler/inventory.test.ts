import { describe, expect, it } from "vitest";
import { Inventory, Scheduler } from "../../src/durable/scheduler/index.js";
import { demand, gpuNode } from "./nodes.js";

const allocation = (nodeId: string, gpuIndices: number[], cpuMilli = 1000) => ({
  nodeId,
  gpus: gpuIndices.map((index) => ({ uuid: `${nodeId}-gpu${index}`, milli: 1000 })),
  cpuMilli,
  memoryMib: 1024,
});

describe("Inventory", () => {
  it("reserves and releases GPUs, CPU and memory", () => {
    const inventory = new Inventory();
    inventory.upsertNode(gpuNode("n1", { gpuCount: 2 }));
    expect(inventory.reserve("a1", [allocation("n1", [0], 4000)])).toBe(true);
    const state = inventory.node("n1");
    expect(state && Array.from(state.freeMilli)).toEqual([0, 1000]);
    expect(state?.freeCpuMilli).toBe(28_000);
    expect(inventory.reserve("a2", [allocation("n1", [0])])).toBe(false);
    expect(inventory.reserve("a1", [allocation("n1", [1])])).toBe(false);
    expect(inventory.release("a1")?.key).toBe("a1");
    expect(state && Array.from(state.freeMilli)).toEqual([1000, 1000]);
    expect(state?.freeCpuMilli).toBe(32_000);
    expect(inventory.release("a1")).toBeUndefined();
  });

  it("takes every node of a reservation or none", () => {
    const inventory = new Inventory();
    inventory.upsertNode(gpuNode("n1"));
    inventory.upsertNode(gpuNode("n2"));
    expect(inventory.reserve("busy", [allocation("n2", [0])])).toBe(true);
    expect(inventory.reserve("gang", [allocation("n1", [0]), allocation("n2", [0])])).toBe(false);
    expect(Array.from(inventory.node("n1")?.freeMilli ?? [])).toEqual([1000]);
    expect(inventory.node("n1")?.reservations.size).toBe(0);
    expect(inventory.reservation("gang")).toBeUndefined();
  });

  it("keeps reservations when a node is updated, and releases a whole gang when a member is removed", () => {
    const inventory = new Inventory();
    inventory.upsertNode(gpuNode("n1", { gpuCount: 2 }));
    inventory.upsertNode(gpuNode("n2", { gpuCount: 2 }));
    expect(
      inventory.reserve("gang", [allocation("n1", [0]), allocation("n2", [0])], { accountId: "acct_a" }),
    ).toBe(true);
    inventory.upsertNode(gpuNode("n1", { gpuCount: 2, pricePerGpuHourMicros: 2_000_000 }));
    expect(Array.from(inventory.node("n1")?.freeMilli ?? [])).toEqual([0, 1000]);
    expect(inventory.accountUsage("acct_a")).toBeCloseTo(2.125);
    expect(inventory.removeNode("n2").map((lost) => lost.key)).toEqual(["gang"]);
    expect(Array.from(inventory.node("n1")?.freeMilli ?? [])).toEqual([1000, 1000]);
    expect(inventory.accountUsage("acct_a")).toBe(0);
    expect(inventory.size).toBe(1);
  });

  it("visits only nodes with enough free GPUs of an allowed model, tightest first", () => {
    const inventory = new Inventory();
    inventory.upsertNode(gpuNode("eight", { gpuCount: 8, model: "H100-SXM" }));
    inventory.upsertNode(gpuNode("two", { gpuCount: 2, model: "H100-SXM" }));
    inventory.upsertNode(gpuNode("one", { gpuCount: 1, model: "H100-SXM" }));
    inventory.upsertNode(gpuNode("other", { gpuCount: 8, model: "A100-80GB" }));
    inventory.upsertNode(gpuNode("down", { gpuCount: 8, model: "H100-SXM", schedulable: false }));
    const seen: string[] = [];
    inventory.visitCandidates(demand({ gpus: 2, constraints: { gpuModels: ["H100-SXM"] } }), (state) => {
      seen.push(state.node.id);
      return "next";
    });
    expect(seen).toEqual(["two", "eight"]);
    inventory.reserve("x", [allocation("eight", [0, 1, 2, 3, 4, 5, 6])]);
    seen.length = 0;
    inventory.visitCandidates(demand({ gpus: 2, constraints: { gpuModels: ["H100-SXM"] } }), (state) => {
      seen.push(state.node.id);
      return "next";
    });
    expect(seen).toEqual(["two"]);
  });

  it("holds 100,000 nodes and still places", () => {
    const scheduler = new Scheduler();
    for (let index = 0; index < 100_000; index++) {
      scheduler.inventory.upsertNode(gpuNode(`n${index}`, { gpuCount: 1 + (index % 8) }));
    }
    expect(scheduler.inventory.size).toBe(100_000);
    expect(scheduler.place("job", demand({ gpus: 8 }))?.nodes[0]?.gpuUuids).toHaveLength(8);
  });
});

describe("the last free GPU", () => {
  it("goes to exactly one of 1,000 concurrent placements", () => {
    const scheduler = new Scheduler();
    scheduler.inventory.upsertNode(gpuNode("n1", { gpuCount: 4 }));
    for (let index = 0; index < 3; index++) expect(scheduler.place(`pre${index}`, demand())).not.toBeNull();
    // The Region object handles one call at a time: 1,000 arriving together are 1,000 calls in a row.
    const winners = Array.from({ length: 1000 }, (_, index) =>
      scheduler.place(`job${index}`, demand()),
    ).filter((placement) => placement !== null);
    expect(winners).toHaveLength(1);
    expect(scheduler.inventory.node("n1")?.reservations.size).toBe(4);
  });

  it("is not given twice by direct reservations either", () => {
    const inventory = new Inventory();
    inventory.upsertNode(gpuNode("n1"));
    const results = Array.from({ length: 1000 }, (_, index) =>
      inventory.reserve(`a${index}`, [allocation("n1", [0])]),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
