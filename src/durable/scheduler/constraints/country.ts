import type { NodeConstraint } from "./constraint.js";
import { allowMost } from "./relax.js";

const FIELD = "placement.countries";

export const country: NodeConstraint<"country", { countries: readonly string[] }> = {
  name: "country",
  scope: "node",
  keys: ["countries"],
  field: FIELD,
  fact: {
    reads: ["country"],
    arrives: "registration",
    source:
      "the agent's config (location.country), else Cloudflare's view of its connection (request.cf), else its country label",
  },
  says: "is in another country, or its country is unknown",
  fromSpec: (spec) => ({ countries: spec.placement?.countries }),
  fails: (state, demand) => {
    const countries = demand.constraints.countries;
    const where = state.node.country;
    return countries !== undefined && (where === undefined || !countries.includes(where));
  },
  offers: ({ state }) => [state.node.country],
  relax: (observed, demand) => allowMost(FIELD, observed, demand.nodes, "country "),
};
