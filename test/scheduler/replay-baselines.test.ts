import path from "node:path";
import { describe, expect, it } from "vitest";
import { fragmentation } from "../../bench/replay-fgd.js";
import { unallocatedFloor } from "../../bench/replay-floor.js";
import { plainFragmentation } from "../../bench/replay-plain.js";
import {
  readTraceNodes,
  readTracePods,
  TRACE_DIR,
  type TraceNode,
  type TracePod,
} from "../../bench/replay-trace.js";

/**
 * bench:replay's baselines are the scheduler's `bestFit` and `firstFit` policies; they must be
 * the plain heuristics, so they are checked against an implementation that shares no code with
 * the scheduler (bench/replay-plain.ts), on the trace itself and on small cases worked by hand.
 */
const nodes = readTraceNodes(path.join(TRACE_DIR, "openb_node_list_gpu_node.csv"));

const node = (id: string, gpus: number, model = "G2"): TraceNode => ({
  id,
  cpuMilli: 64_000,
  memoryMib: 262_144,
  gpus,
  model,
});
const pod = (name: string, gpus: number, gpuMilli = 1000, models?: string[]): TracePod => ({
  name,
  cpuMilli: 1000,
  memoryMib: 1024,
  gpus,
  gpuMilli,
  models,
  createdAt: 0,
  holdSeconds: 1,
});

describe("the plain heuristics, by hand", () => {
  it("first-fit fills nodes in list order; best-fit the tightest node", () => {
    const cluster = [node("a", 4), node("b", 2)];
    // 2 + 2 + 2 = 6 GPUs = capacity. First-fit: a, a, b. Best-fit: b (tightest), a, a.
    const pods = [pod("p1", 2), pod("p2", 2), pod("p3", 2)];
    expect(plainFragmentation("firstFit", cluster, pods).unallocatedGpuFraction).toBe(0);
    expect(plainFragmentation("bestFit", cluster, pods).unallocatedGpuFraction).toBe(0);
    // 1 then 4: first-fit breaks the 4-GPU node, best-fit keeps it whole.
    const order = [pod("one", 1), pod("four", 4), pod("one-more", 1)];
    expect(plainFragmentation("firstFit", cluster, order).failedPods).toBe(1);
    expect(plainFragmentation("bestFit", cluster, order).failedPods).toBe(0);
  });

  it("counts the demand that can only use an over-subscribed model as a floor", () => {
    const cluster = [node("t4", 2, "T4"), node("g2", 4, "G2")];
    const pods = [
      pod("t1", 1, 1000, ["T4"]),
      pod("t2", 1, 1000, ["T4"]),
      pod("t3", 1, 1000, ["T4"]),
      pod("any", 3),
    ];
    expect(unallocatedFloor(cluster, pods)).toBeCloseTo(1 / 6);
  });

  it("counts models asked for together as one group when that raises the floor", () => {
    // No pod is limited to one model, but three pods share the two GPUs of P100 and V100.
    const cluster = [node("p100", 1, "P100"), node("v100", 1, "V100"), node("g2", 4, "G2")];
    const pods = [
      pod("pv1", 1, 1000, ["P100", "V100"]),
      pod("pv2", 1, 1000, ["P100", "V100"]),
      pod("pv3", 1, 1000, ["P100", "V100"]),
      pod("any", 3),
    ];
    expect(unallocatedFloor(cluster, pods)).toBeCloseTo(1 / 6);
  });
});

describe("bench:replay's baselines against the independent ones", () => {
  it.each(["default", "gpuspec33"])("agree within 2 percent on %s", (list) => {
    const pods = readTracePods(path.join(TRACE_DIR, `openb_pod_list_${list}.csv`));
    for (const policy of ["bestFit", "firstFit"] as const) {
      const ours = fragmentation(policy, nodes, pods).unallocatedGpuFraction;
      const plain = plainFragmentation(policy, nodes, pods).unallocatedGpuFraction;
      expect(Math.abs(ours / plain - 1)).toBeLessThanOrEqual(0.02);
    }
  });
});
