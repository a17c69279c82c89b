import type { JobSpec } from "../../../shared/job-spec.js";
import type { Demand } from "../demand.js";
import type { GpuGroup, NodeState } from "../node-state.js";
import type { SchedulerGpu, SchedulerNode } from "../scheduler-node.js";

/**
 * The node fact a constraint reads and how it reaches the scheduler. A constraint whose fact no
 * running node carries can never be met (the `near` and bandwidth constraints once were exactly
 * that), so every record names its fact and the end-to-end test proves each one is carried.
 */
export interface Fact {
  /** The `SchedulerNode` fields read (`gpus[].x` for a field of each GPU). */
  readonly reads: readonly (keyof SchedulerNode | `gpus[].${keyof SchedulerGpu}`)[];
  /**
   * When a node first carries it: at registration (or from its connection), from its history in
   * the region, from a passed verification, or from the scheduler's own state.
   */
  readonly arrives: "registration" | "history" | "verification" | "scheduler";
  /** Where the fact comes from in the running system, in words. */
  readonly source: string;
}

/** One change to the job that would let it be placed now (the explanation adds the constraint). */
export interface Advice {
  /** The spec field to change, e.g. "maxPricePerGpuHour" or "resources.gpuModels". */
  field: string;
  /** The value to set (in the spec's units), or undefined when the advice is to drop the field. */
  value?: string | number | undefined;
  /** The advice in words: "raise maxPricePerGpuHour to 2.10", "allow A100-80GB". */
  text: string;
  /** Nodes that could take the job now with this change alone. */
  nodes: number;
  /** How far the change goes (relative; 0.5 for allowing one more option, 1 to drop a field). */
  distance: number;
}

/** What the nodes that fail only one constraint offer for it: numbers, names, or unknowns. */
export interface Observed {
  numbers: number[];
  names: Map<string, number>;
  unknown: number;
}

/** A node that fails only this constraint, with its GPU groups that meet every other one. */
export interface OfferContext {
  state: NodeState;
  demand: Demand;
  /** Groups failing nothing else. */
  usable: readonly GpuGroup[];
  /** Of those, the groups with room for the job now. */
  roomy: readonly GpuGroup[];
}

/**
 * When a node failing only this constraint counts towards relaxing it: when its GPUs have room
 * (`gpu`), when they have room leaving CPU and memory aside (`gpuIgnoringCpuMemory`, for those
 * two), or as the record itself decides (`own`).
 */
export type OfferRoom = "gpu" | "gpuIgnoringCpuMemory" | "own";

/** The fields of `Demand.constraints` a record owns; none when it reads the demand's size or liveness. */
export type NoFields = Record<never, never>;

/** A slice of `Demand.constraints` as a validated spec sets it: every field present, maybe undefined. */
export type SpecValues<Fields extends object> = { [K in keyof Fields]: Fields[K] | undefined };

interface ConstraintBase<Name extends string, Fields extends object> {
  readonly name: Name;
  /** Type witness only, never set: the fields of `Demand.constraints` this record owns. */
  readonly fields?: Fields;
  /**
   * Those fields' names: the record is checked only for a demand that sets one (a record with
   * none, which reads the demand's size or the node's liveness, is always checked).
   */
  readonly keys: readonly string[];
  /** The spec field a user sets (dotted path); "" for what the system sets. */
  readonly field: string;
  readonly fact: Fact;
  /** What a refusing node lacks, in words. */
  readonly says: string;
  /** Its value from a validated spec; absent when the spec does not set it. */
  readonly fromSpec?: (spec: JobSpec) => SpecValues<Fields>;
  readonly room?: OfferRoom;
  /** What a node failing only this constraint offers instead (its price, its model, …). */
  readonly offers?: (context: OfferContext) => readonly (number | string | undefined)[];
  /** The single change to the job that enough such nodes would meet. */
  readonly relax?: (observed: Observed, demand: Demand) => Advice | undefined;
  /** For a constraint with no `relax`: why no change to the spec helps. */
  readonly unrelaxable?: string;
}

/** A check of the node as a whole (its place, its software, its size). */
export interface NodeConstraint<Name extends string = string, Fields extends object = NoFields>
  extends ConstraintBase<Name, Fields> {
  readonly scope: "node";
  /** True when the node refuses the demand; false when the demand does not ask. */
  readonly fails: (state: NodeState, demand: Demand) => boolean;
}

/** What one GPU model's index has at most: lets a search skip a model none of whose nodes fit. */
export interface ModelReach {
  maxVramMib: number;
  maxComputeCapability: number;
  tiers: ReadonlySet<string | undefined>;
}

/** A check of one GPU group of a node (one model's GPUs), counting its size as if all were free. */
export interface GpuConstraint<Name extends string = string, Fields extends object = NoFields>
  extends ConstraintBase<Name, Fields> {
  readonly scope: "gpu";
  readonly fails: (group: GpuGroup, demand: Demand) => boolean;
  /** True when no node of the model can meet it, so the search skips the model's buckets. */
  readonly rulesOutModel?: (reach: ModelReach, demand: Demand) => boolean;
}

export type Constraint<Name extends string = string, Fields extends object = NoFields> =
  | NodeConstraint<Name, Fields>
  | GpuConstraint<Name, Fields>;
