import { describe, expect, it } from "vitest";
import { explain, Scheduler, type SchedulerNode } from "../../src/durable/scheduler/index.js";
import { demand, gpuNode } from "./nodes.js";

const NOW = 1_700_000_000_000;

function region(nodes: SchedulerNode[]): Scheduler {
  const scheduler = new Scheduler();
  for (const node of nodes) scheduler.inventory.upsertNode(node);
  return scheduler;
}

describe("explain", () => {
  it("names the price as binding and the price that would place the job", () => {
    const scheduler = region([
      gpuNode("a", { pricePerGpuHourMicros: 2_100_000 }),
      gpuNode("b", { pricePerGpuHourMicros: 2_600_000 }),
      gpuNode("c", { model: "RTX-3060", pricePerGpuHourMicros: 100_000 }),
    ]);
    const result = explain(
      scheduler.inventory,
      demand({ constraints: { maxPricePerGpuHourMicros: 1_500_000, gpuModels: ["RTX-4090"] } }),
      NOW,
    );
    expect(result.placeable).toBe(false);
    expect(result.binding).toBe("price");
    expect(result.failing).toEqual({ price: 2, gpuModel: 1 });
    expect(result.relaxations[0]?.text).toBe("raise maxPricePerGpuHour to 2.10");
    expect(result.message).toContain("nearest fix: raise maxPricePerGpuHour to 2.10");
  });

  it("suggests allowing another model", () => {
    const scheduler = region([gpuNode("a", { model: "A100-80GB" }), gpuNode("b", { model: "RTX-4090" })]);
    const result = explain(scheduler.inventory, demand({ constraints: { gpuModels: ["H100-SXM"] } }), NOW);
    expect(result.binding).toBe("gpuModel");
    expect(result.relaxations.map((r) => r.text)).toContain("allow A100-80GB");
  });

  it("suggests lowering minVramGb to what the free nodes have", () => {
    const scheduler = region([gpuNode("a", { model: "A100-40GB" }), gpuNode("b", { model: "RTX-4090" })]);
    const result = explain(scheduler.inventory, demand({ constraints: { minVramMib: 80 * 1024 } }), NOW);
    expect(result.failing.vram).toBe(2);
    expect(result.relaxations[0]?.text).toBe("lower minVramGb to 40");
  });

  it("only counts relaxations that would place the job now, for every gang member", () => {
    const scheduler = region([gpuNode("a", { model: "A100-40GB" }), gpuNode("b", { model: "A100-80GB" })]);
    scheduler.place("busy", demand({ constraints: { gpuModels: ["A100-80GB"] } }));
    const result = explain(scheduler.inventory, demand({ constraints: { gpuModels: ["H100-SXM"] } }), NOW);
    expect(result.relaxations.map((r) => r.text)).toEqual(["allow A100-40GB"]);
    const gang = explain(
      scheduler.inventory,
      demand({ nodes: 2, constraints: { gpuModels: ["H100-SXM"] } }),
      NOW,
    );
    expect(gang.relaxations).toEqual([]);
  });

  it("says the job waits for capacity when matching nodes are busy, and when they free", () => {
    const scheduler = region([gpuNode("a", { gpuCount: 2 })]);
    scheduler.place("running", demand(), { expectedEndAt: NOW + 60_000 });
    const result = explain(scheduler.inventory, demand({ gpus: 2 }), NOW);
    expect(result.binding).toBe("capacity");
    expect(result.busy).toBe(1);
    expect(result.estimatedStartAt).toBe(NOW + 60_000);
    expect(result.relaxations[0]?.text).toBe("lower gpus to 1");
  });

  it("advises removing a minimum that unverified nodes cannot meet", () => {
    const scheduler = region([gpuNode("a")]);
    const result = explain(scheduler.inventory, demand({ constraints: { minTflops: 50 } }), NOW);
    expect(result.relaxations[0]?.text).toBe("remove placement.minTflops");
  });

  it("reports a fitting job as placeable", () => {
    const result = explain(region([gpuNode("a")]).inventory, demand(), NOW);
    expect(result).toMatchObject({ placeable: true, binding: null, message: "fits now" });
  });
});
