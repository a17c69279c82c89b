import { describe, expect, it } from "vitest";
import { Scheduler } from "../../src/durable/scheduler/index.js";
import { demand, gpuNode } from "./nodes.js";

describe("gang placement", () => {
  it("places all N nodes or none, and leaves no partial reservation", () => {
    const scheduler = new Scheduler();
    for (let index = 0; index < 3; index++)
      scheduler.inventory.upsertNode(gpuNode(`n${index}`, { gpuCount: 8 }));
    expect(scheduler.place("too-big", demand({ gpus: 8, nodes: 4 }))).toBeNull();
    for (const state of scheduler.inventory.nodes()) expect(state.reservations.size).toBe(0);
    const placement = scheduler.place("gang", demand({ gpus: 8, nodes: 3 }));
    expect(placement?.nodes.map((node) => node.rank)).toEqual([0, 1, 2]);
    expect(new Set(placement?.nodes.map((node) => node.nodeId)).size).toBe(3);
    expect(scheduler.inventory.reservation("gang")?.allocations).toHaveLength(3);
    scheduler.inventory.release("gang");
    for (const state of scheduler.inventory.nodes())
      expect(Array.from(state.freeMilli)).toEqual(Array(8).fill(1000));
  });

  it("prefers nodes sharing a site over cheaper scattered ones", () => {
    const scheduler = new Scheduler();
    for (let index = 0; index < 4; index++) {
      scheduler.inventory.upsertNode(
        gpuNode(`solo${index}`, { site: `home-${index}`, pricePerGpuHourMicros: 900_000 }),
      );
      scheduler.inventory.upsertNode(
        gpuNode(`dc${index}`, { site: "dc-1", pricePerGpuHourMicros: 1_000_000 }),
      );
    }
    const placement = scheduler.decide(demand({ nodes: 4 }));
    expect(placement?.nodes.map((node) => node.nodeId).sort()).toEqual(["dc0", "dc1", "dc2", "dc3"]);
    expect(placement?.maxRttMs).toBe(0.5);
  });

  it("without sites, groups the nodes with the lowest mutual round trip", () => {
    const scheduler = new Scheduler();
    const places = [
      ["fra1", 50.1, 8.7],
      ["fra2", 50.12, 8.65],
      ["ams", 52.37, 4.9],
      ["mad", 40.4, -3.7],
      ["lis", 38.7, -9.1],
    ] as const;
    for (const [id, lat, lon] of places) scheduler.inventory.upsertNode(gpuNode(id, { lat, lon }));
    const placement = scheduler.decide(demand({ nodes: 2 }));
    expect(placement?.nodes.map((node) => node.nodeId).sort()).toEqual(["fra1", "fra2"]);
  });
});
