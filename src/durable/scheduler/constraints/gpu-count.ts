import type { GpuConstraint } from "./constraint.js";
import { lowerTo } from "./relax.js";

const FIELD = "resources.gpus";

/** GPUs of one model on the node: a job's GPUs all come from one group. */
export const gpuCount: GpuConstraint<"gpuCount"> = {
  name: "gpuCount",
  scope: "gpu",
  keys: [],
  field: FIELD,
  fact: { reads: ["gpus"], arrives: "registration", source: "registration: the GPUs nvidia-smi lists" },
  says: "has fewer GPUs of one model",
  fails: (group, demand) => group.indices.length < demand.gpus,
  room: "own",
  // The most whole GPUs it could give now, if its CPU and memory have room.
  offers: ({ state, demand, usable }) => {
    if (state.freeCpuMilli < demand.cpuMilli || state.freeMemoryMib < demand.memoryMib) return [];
    const most = Math.max(0, ...usable.map((group) => state.wholeFree(group)));
    return most > 0 ? [most] : [];
  },
  relax: (observed, demand) => lowerTo(FIELD, observed, demand.nodes, demand.gpus, (count) => count),
};
