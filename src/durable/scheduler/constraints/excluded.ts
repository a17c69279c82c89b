import type { NodeConstraint } from "./constraint.js";

/** Nodes the job must avoid: they lost an attempt of it, or are held for a job ahead of it. */
export const excluded: NodeConstraint<"excluded", { excludeNodes: ReadonlySet<string> }> = {
  name: "excluded",
  scope: "node",
  keys: ["excludeNodes"],
  field: "",
  fact: {
    reads: ["id"],
    arrives: "scheduler",
    source: "the job's own attempts (lost-node avoidance) and the queue's backfill hold",
  },
  unrelaxable: "the job avoids these nodes only while another node could take it",
  says: "lost an attempt of this job, or is held for a job ahead of it",
  fails: (state, demand) => demand.constraints.excludeNodes?.has(state.node.id) === true,
};
