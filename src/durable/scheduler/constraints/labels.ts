import type { NodeConstraint } from "./constraint.js";
import { dropWhenUnknown } from "./relax.js";

const FIELD = "placement.requiredLabels";

function labelsFit(
  labels: Readonly<Record<string, string>>,
  required: Readonly<Record<string, string>> | undefined,
  forbidden: readonly string[] | undefined,
): boolean {
  if (required) {
    for (const key in required) if (labels[key] !== required[key]) return false;
  }
  if (forbidden) {
    for (const entry of forbidden) {
      const split = entry.indexOf("=");
      if (split < 0) {
        if (labels[entry] !== undefined) return false;
      } else if (labels[entry.slice(0, split)] === entry.slice(split + 1)) return false;
    }
  }
  return true;
}

export const labels: NodeConstraint<
  "labels",
  {
    requiredLabels: Readonly<Record<string, string>>;
    /** "key" refuses any value of the label, "key=value" that value only. */
    forbiddenLabels: readonly string[];
  }
> = {
  name: "labels",
  scope: "node",
  keys: ["requiredLabels", "forbiddenLabels"],
  field: FIELD,
  fact: {
    reads: ["labels"],
    arrives: "registration",
    source: "registration: the labels in the agent's config",
  },
  says: "lacks a required label or carries a forbidden one",
  fromSpec: (spec) => ({
    requiredLabels: spec.placement?.requiredLabels,
    forbiddenLabels: spec.placement?.forbiddenLabels,
  }),
  fails: (state, demand) => {
    const { requiredLabels, forbiddenLabels } = demand.constraints;
    return (
      (requiredLabels !== undefined || forbiddenLabels !== undefined) &&
      !labelsFit(state.node.labels, requiredLabels, forbiddenLabels)
    );
  },
  offers: () => [undefined],
  relax: (observed, demand) => dropWhenUnknown(FIELD, observed, demand.nodes),
};
