import type { JobSpec } from "../../../shared/job-spec.js";
import { formatUsd } from "../../../shared/money.js";
import type { Demand } from "../demand.js";
import type { SchedulerNode } from "../scheduler-node.js";
import type { NodeConstraint, SpecValues } from "./constraint.js";
import { raiseTo } from "./relax.js";

/** What sets one price cap apart from the other: its units, the work it binds, the price it reads. */
export interface PriceCapRule<Name extends string, Fields extends object> {
  name: Name;
  /** The spec field a user sets, in USD; advice raises it to the price enough nodes ask. */
  field: string;
  keys: readonly (keyof Fields & string)[];
  /** The node field the asking price comes from. */
  reads: keyof SchedulerNode;
  source: string;
  says: string;
  fromSpec: (spec: JobSpec) => SpecValues<Fields>;
  /** The job's cap in µUSD, when it set one. */
  cap: (demand: Demand) => number | undefined;
  /** Whether the cap applies to this job at all (GPU work pays per GPU-hour, CPU-only per vCPU-hour). */
  binds: (demand: Demand) => boolean;
  /** The node's asking price in µUSD. */
  asks: (node: SchedulerNode) => number;
}

/**
 * A cap on a node's asking price, set at registration: a node asking more than the cap refuses the
 * job, and the nodes refused by it alone say what cap would place the job. One shape for the GPU-hour
 * and the vCPU-hour caps, so the two can never drift apart in how they refuse or advise.
 */
export function priceCap<Name extends string, Fields extends object>(
  rule: PriceCapRule<Name, Fields>,
): NodeConstraint<Name, Fields> {
  return {
    name: rule.name,
    scope: "node",
    keys: rule.keys,
    field: rule.field,
    fact: { reads: [rule.reads], arrives: "registration", source: rule.source },
    says: rule.says,
    fromSpec: rule.fromSpec,
    fails: (state, demand) => {
      const cap = rule.cap(demand);
      return cap !== undefined && rule.binds(demand) && rule.asks(state.node) > cap;
    },
    offers: ({ state }) => [rule.asks(state.node)],
    relax: (observed, demand) =>
      raiseTo(
        rule.field,
        rule.field,
        observed,
        demand.nodes,
        rule.cap(demand),
        (micros) => micros,
        formatUsd,
      ),
  };
}
