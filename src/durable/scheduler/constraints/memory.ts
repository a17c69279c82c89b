import type { NodeConstraint } from "./constraint.js";
import { lowerTo } from "./relax.js";

const FIELD = "resources.memoryGb";

export const memory: NodeConstraint<"memory"> = {
  name: "memory",
  scope: "node",
  keys: [],
  field: FIELD,
  fact: {
    reads: ["memoryMib"],
    arrives: "registration",
    source: "registration: the host's memory, as the agent reports it (unverified)",
  },
  says: "has less memory",
  fails: (state, demand) => state.node.memoryMib < demand.memoryMib,
  room: "gpuIgnoringCpuMemory",
  offers: ({ state }) => [state.freeMemoryMib],
  relax: (observed, demand) =>
    lowerTo(FIELD, observed, demand.nodes, demand.memoryMib, (mib) => Math.floor((mib / 1024) * 100) / 100),
};
