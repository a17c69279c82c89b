import type { NodeConstraint } from "./constraint.js";

/** Only live nodes that take work: draining, offline or runtime-less nodes stay indexed but refuse. */
export const offline: NodeConstraint<"offline"> = {
  name: "offline",
  scope: "node",
  keys: [],
  field: "",
  fact: {
    reads: ["schedulable"],
    arrives: "scheduler",
    source: "the node's polls and presence, its operating windows and drain, and its runtime",
  },
  unrelaxable: "no change to the job makes an offline or draining node take work",
  says: "is offline or draining",
  fails: (state) => !state.node.schedulable,
};
