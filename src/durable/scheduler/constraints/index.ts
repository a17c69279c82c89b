import { attested } from "./attested.js";
import { bandwidth } from "./bandwidth.js";
import { computeCapability } from "./compute-capability.js";
import type { Constraint, GpuConstraint, NodeConstraint } from "./constraint.js";
import { country } from "./country.js";
import { cpuPrice } from "./cpu-price.js";
import { cpus } from "./cpus.js";
import { cuda } from "./cuda.js";
import { driver } from "./driver.js";
import { excluded } from "./excluded.js";
import { gpuCount } from "./gpu-count.js";
import { gpuModel } from "./gpu-model.js";
import { labels } from "./labels.js";
import { memory } from "./memory.js";
import { near } from "./near.js";
import { offline } from "./offline.js";
import { price } from "./price.js";
import { region } from "./region.js";
import { reputation } from "./reputation.js";
import { tflops } from "./tflops.js";
import { tier } from "./tier.js";
import { vram } from "./vram.js";

export type { Advice, Constraint, Fact, GpuConstraint, ModelReach, NodeConstraint } from "./constraint.js";

/**
 * The hard constraints, in the order a node is checked (as in Nomad's feasibility chain: the
 * cheapest and most selective first). A new constraint is one file and one line here. Each is
 * also a bit, so a node's failures are one number: cheap in the placement loop, and enough for an
 * explanation to count nodes per constraint and find the nodes that fail exactly one.
 */
export const CONSTRAINT_REGISTRY = [
  excluded,
  offline,
  region,
  country,
  near,
  labels,
  reputation,
  bandwidth,
  price,
  cpuPrice,
  driver,
  cuda,
  tflops,
  attested,
  cpus,
  memory,
  gpuCount,
  gpuModel,
  tier,
  vram,
  computeCapability,
] as const;

type Registered = (typeof CONSTRAINT_REGISTRY)[number];
export type ConstraintName = Registered["name"];

export const CONSTRAINTS: readonly ConstraintName[] = CONSTRAINT_REGISTRY.map((record) => record.name);

type FieldsOf<R> = R extends { readonly fields?: infer F } ? F : never;
type Intersect<U> = (U extends unknown ? (value: U) => void : never) extends (value: infer I) => void
  ? I
  : never;
type AllFields = Intersect<FieldsOf<Registered>>;

/**
 * Hard constraints of a demand, one field group per record; an absent field does not constrain.
 * Versions are `versionKey` numbers.
 */
export type Constraints = { [K in keyof AllFields]?: AllFields[K] | undefined };

export const bit = (name: ConstraintName): number => 1 << CONSTRAINTS.indexOf(name);

/** The constraints set in `mask`, in registry order. */
export function constraintNames(mask: number): ConstraintName[] {
  return CONSTRAINTS.filter((_, index) => (mask & (1 << index)) !== 0);
}

/** A record with the bit it sets. */
export type Checked<C> = { readonly record: C; readonly bit: number; readonly name: ConstraintName };

/** Checks of the node as a whole, in registry order. */
export const NODE_CHECKS: readonly Checked<NodeConstraint>[] = CONSTRAINT_REGISTRY.flatMap((record, index) =>
  record.scope === "node" ? [{ record, bit: 1 << index, name: record.name }] : [],
);
/** Checks of one GPU group, in registry order. */
export const GPU_CHECKS: readonly Checked<GpuConstraint>[] = CONSTRAINT_REGISTRY.flatMap((record, index) =>
  record.scope === "gpu" ? [{ record, bit: 1 << index, name: record.name }] : [],
);

const BY_NAME = new Map<ConstraintName, Constraint>(
  CONSTRAINT_REGISTRY.map((record) => [record.name, record]),
);

/** The record of a constraint. */
export function constraintRecord(name: ConstraintName): Constraint {
  const record = BY_NAME.get(name);
  if (!record) throw new Error(`no constraint named ${name}`);
  return record;
}
