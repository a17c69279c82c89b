import type { StakeTier } from "../../../shared/staking-api.js";
import type { ScoreTerm } from "./term.js";

/** Steps of stake: each tier a provider stakes up to is one more step (0 for no stake). */
const STEPS: Record<StakeTier, number> = { none: 0, bronze: 1, silver: 2, gold: 3 };

/**
 * Stake: MRD a provider put at risk of slashing ranks its node higher, a step per tier. Weighted
 * like locality, so it decides among close candidates and never buys a node a much worse price.
 */
export const stake: ScoreTerm = {
  name: "stake",
  says: "the listing tier the provider's MRD stake earns",
  normalise: "none",
  nodeOnly: true,
  value: (candidate) => STEPS[candidate.state.node.stakeTier ?? "none"],
};
