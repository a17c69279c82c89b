import type { SchedulingStrategy } from "../../../shared/job-spec.js";
import type { Demand } from "../demand.js";
import { cheapness } from "./cheapness.js";
import { fragmentation } from "./fragmentation.js";
import { leftoverGpu } from "./leftover-gpu.js";
import { locality } from "./locality.js";
import { packing } from "./packing.js";
import { registrationOrder } from "./registration-order.js";
import { reliability } from "./reliability.js";
import { scarcity } from "./scarcity.js";
import { speed } from "./speed.js";
import { stake } from "./stake.js";
import { stranding } from "./stranding.js";
import type { ScoreTerm, WeightedTerm } from "./term.js";
import { valueForMoney } from "./value-for-money.js";

export type { Normalise, ScoreContext, ScoreTerm, WeightedTerm } from "./term.js";

/** Every score term; a new term is one file and one line here (and a weight in a policy). */
export const SCORE_TERMS: readonly ScoreTerm[] = [
  cheapness,
  speed,
  reliability,
  valueForMoney,
  fragmentation,
  stranding,
  locality,
  packing,
  scarcity,
  registrationOrder,
  leftoverGpu,
  stake,
];

/** The job's own strategy: the term that leads Meridian's ranking. */
const BY_STRATEGY: Record<SchedulingStrategy, ScoreTerm> = {
  cheapest: cheapness,
  fastest: speed,
  reliable: reliability,
  balanced: valueForMoney,
};

/**
 * Meridian's policy: the job's strategy (normalised to the best candidate, so 1 is the best on
 * offer), then small per-GPU weights on fragmentation and stranding, locality, a packing
 * tie-break, the provider's stake tier, and the scarce models' cost. A much cheaper or faster node still wins; among close
 * ones, the placement that breaks fewer whole GPUs and spends no scarce model does.
 */
function meridian(demand: Demand): readonly WeightedTerm[] {
  // CPU-only jobs pay no GPU price and have no verified speed: their nodes differ in reliability
  // and in the price per vCPU-hour each provider asks, which leads when the job asks for `cheapest`.
  const lead =
    demand.gpus === 0
      ? demand.strategy === "cheapest"
        ? cheapness
        : reliability
      : BY_STRATEGY[demand.strategy];
  return [
    { term: lead, weight: 1 },
    { term: fragmentation, weight: -1 / 16 },
    { term: stranding, weight: -1 / 16 },
    { term: locality, weight: 0.02 },
    { term: stake, weight: 0.02 },
    { term: packing, weight: -0.001 },
    { term: scarcity, weight: -1 },
  ];
}

const FIRST_FIT: readonly WeightedTerm[] = [{ term: registrationOrder, weight: -1 }];
const BEST_FIT: readonly WeightedTerm[] = [{ term: leftoverGpu, weight: -1 }];

/**
 * How candidates are ranked, each a weighted list of terms. `meridian` is the product policy;
 * `bestFit` and `firstFit` are the plain baselines, kept in the same code so benchmarks compare
 * policies and nothing else: first-fit takes the earliest-registered node with room, best-fit the
 * node with the least GPU capacity left after the job, ties to the earlier node.
 */
export const POLICIES = {
  meridian,
  bestFit: (): readonly WeightedTerm[] => BEST_FIT,
  firstFit: (): readonly WeightedTerm[] => FIRST_FIT,
} satisfies Record<string, (demand: Demand) => readonly WeightedTerm[]>;

export type Policy = keyof typeof POLICIES;

/** The weighted terms `policy` ranks `demand`'s candidates by. */
export const policyTerms = (policy: Policy, demand: Demand): readonly WeightedTerm[] =>
  POLICIES[policy](demand);
