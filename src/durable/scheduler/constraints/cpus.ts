import type { NodeConstraint } from "./constraint.js";
import { lowerTo } from "./relax.js";

const FIELD = "resources.cpus";

/** The node's whole CPU capacity; what is free now is the fit's business, not a constraint's. */
export const cpus: NodeConstraint<"cpus"> = {
  name: "cpus",
  scope: "node",
  keys: [],
  field: FIELD,
  fact: {
    reads: ["cpuMilli"],
    arrives: "registration",
    source: "registration: the host's CPU count, as the agent reports it (unverified)",
  },
  says: "has fewer CPUs",
  fails: (state, demand) => state.node.cpuMilli < demand.cpuMilli,
  room: "gpuIgnoringCpuMemory",
  offers: ({ state }) => [state.freeCpuMilli],
  relax: (observed, demand) =>
    lowerTo(FIELD, observed, demand.nodes, demand.cpuMilli, (milli) => Math.floor(milli / 100) / 10),
};
