import { holdFor } from "./backfill.js";
import type { Advice, Observed, OfferContext } from "./constraints/constraint.js";
import {
  bit,
  CONSTRAINTS,
  type ConstraintName,
  constraintNames,
  constraintRecord,
} from "./constraints/index.js";
import { type Demand, WHOLE_GPU_MILLI } from "./demand.js";
import { freeFits, gpuFailures, nodeFailures } from "./feasibility.js";
import type { GpuGroup, Inventory, NodeState } from "./inventory.js";

/** One change to the job that would let it be placed now, and the constraint it relaxes. */
export interface Relaxation extends Advice {
  constraint: ConstraintName;
}

export interface Explanation {
  placeable: boolean;
  totalNodes: number;
  /** How many nodes fail each constraint; a node failing two is counted under both. */
  failing: Partial<Record<ConstraintName, number>>;
  /** Nodes that pass every constraint but have no room now. */
  busy: number;
  /** What stops the job: a constraint, "capacity" (matching nodes are busy), or null if it fits. */
  binding: ConstraintName | "capacity" | null;
  /** Changes that would place it now, nearest first. */
  relaxations: Relaxation[];
  /** When held capacity is expected to free for it (ms); undefined when unknown or never. */
  estimatedStartAt?: number | undefined;
  message: string;
}

type Note = (name: ConstraintName, value: number | string | undefined) => void;

/**
 * Why `demand` cannot be placed now, for a user: per constraint how many nodes fail it, which one
 * binds, and the single changes that would place it now, nearest first. Scans every node: it
 * answers a question, it is not on the placement path.
 */
export function explain(inventory: Inventory, demand: Demand, now: number): Explanation {
  const failing: Partial<Record<ConstraintName, number>> = {};
  const values = new Map<ConstraintName, Observed>();
  const note: Note = (name, value) => {
    let entry = values.get(name);
    if (!entry) {
      entry = { numbers: [], names: new Map(), unknown: 0 };
      values.set(name, entry);
    }
    if (value === undefined) entry.unknown++;
    else if (typeof value === "number") entry.numbers.push(value);
    else entry.names.set(value, (entry.names.get(value) ?? 0) + 1);
  };
  let free = 0;
  let busy = 0;
  let gpuNodes = 0;
  // CPU-only nodes that refuse the job for wanting GPUs and for nothing else.
  let cpuOnlyFits = 0;
  const gpuCountBit = bit("gpuCount");
  for (const state of inventory.nodes()) {
    const nodeMask = nodeFailures(state, demand, true);
    const { mask: gpuMask, groups } = gpuFailures(state, demand);
    const mask = nodeMask | gpuMask;
    if (state.groups.length > 0) gpuNodes++;
    else if (mask === gpuCountBit) cpuOnlyFits++;
    for (const name of constraintNames(mask)) failing[name] = (failing[name] ?? 0) + 1;
    if (mask === 0) {
      const fits =
        demand.gpus === 0
          ? freeFits(state, undefined, demand)
          : state.groups.some((group, index) => groups[index] === 0 && freeFits(state, group, demand));
      if (fits) free++;
      else {
        busy++;
        noteSmallerFit(state, demand, groups, note);
      }
      continue;
    }
    const only = singleConstraint(nodeMask, groups, demand.gpus > 0);
    if (only !== undefined) noteRelaxed(state, demand, only, groups, note);
  }
  const relaxations = [...values.entries()]
    .flatMap(([name, entry]): Relaxation[] => {
      const advice = constraintRecord(name).relax?.(entry, demand);
      return advice ? [{ constraint: name, ...advice }] : [];
    })
    .sort((a, b) => a.distance - b.distance || b.nodes - a.nodes);
  const noGpu = demand.gpus > 0 && gpuNodes === 0 && inventory.size > 0;
  if (noGpu && cpuOnlyFits >= demand.nodes) {
    relaxations.push({
      constraint: "gpuCount",
      field: constraintRecord("gpuCount").field,
      value: 0,
      text: "set resources.gpus to 0 to run on CPU",
      nodes: cpuOnlyFits,
      distance: 1,
    });
  }
  const placeable = free >= demand.nodes;
  const total = inventory.size;
  let binding: Explanation["binding"] = null;
  if (!placeable) {
    if (free + busy >= demand.nodes) binding = "capacity";
    // Every node is draining or offline: no change to the spec helps, so none is offered.
    else if (total > 0 && (failing.offline ?? 0) === total) {
      binding = "offline";
      relaxations.length = 0;
    } else binding = relaxations[0]?.constraint ?? mostFailed(failing) ?? null;
  }
  const startAt = binding === "capacity" ? holdFor("explain", demand, inventory, now)?.startAt : undefined;
  const estimatedStartAt = startAt !== undefined && Number.isFinite(startAt) ? startAt : undefined;
  return {
    placeable,
    totalNodes: total,
    failing,
    busy,
    binding,
    relaxations:
      binding === "capacity" ? relaxations.filter((r) => r.constraint === "gpuCount") : relaxations,
    estimatedStartAt,
    message: noGpu
      ? noGpuSentence(total, relaxations)
      : sentence(placeable, total, binding, busy, failing, relaxations, demand),
  };
}

/** The one constraint the node fails, when relaxing it alone would make the node suitable. */
function singleConstraint(
  nodeMask: number,
  groups: readonly number[],
  needsGpu: boolean,
): ConstraintName | undefined {
  if (nodeMask !== 0 && (nodeMask & (nodeMask - 1)) !== 0) return undefined;
  if (!needsGpu) return nodeMask === 0 ? undefined : constraintNames(nodeMask)[0];
  for (const groupMask of groups) {
    const union = nodeMask | groupMask;
    if (union !== 0 && (union & (union - 1)) === 0) return constraintNames(union)[0];
  }
  return undefined;
}

/** For a busy node: the largest GPU count it could give now, so "lower gpus" can be offered. */
function noteSmallerFit(state: NodeState, demand: Demand, groups: readonly number[], note: Note): void {
  if (demand.gpus <= 1 || demand.gpuMilli < WHOLE_GPU_MILLI) return;
  if (state.freeCpuMilli < demand.cpuMilli || state.freeMemoryMib < demand.memoryMib) return;
  let most = 0;
  state.groups.forEach((group, index) => {
    if (groups[index] === 0) most = Math.max(most, state.wholeFree(group));
  });
  if (most > 0) note("gpuCount", most);
}

/** What a node failing only `name` offers for it, if it would have room once that is relaxed. */
function noteRelaxed(
  state: NodeState,
  demand: Demand,
  name: ConstraintName,
  groups: readonly number[],
  note: Note,
): void {
  const record = constraintRecord(name);
  if (!record.offers) return;
  const others = ~bit(name);
  const usable = state.groups.filter((_, index) => ((groups[index] ?? 0) & others) === 0);
  const roomy = (group: GpuGroup | undefined): boolean => freeFits(state, group, demand);
  const context = (roomyGroups: readonly GpuGroup[]): OfferContext => ({
    state,
    demand,
    usable,
    roomy: roomyGroups,
  });
  let offered: readonly (number | string | undefined)[];
  switch (record.room ?? "gpu") {
    case "own":
      offered = record.offers(context([]));
      break;
    case "gpuIgnoringCpuMemory":
      if (!gpuRoomIgnoring(state, usable, demand)) return;
      offered = record.offers(context([]));
      break;
    case "gpu": {
      const gpuRoom = demand.gpus === 0 ? freeFits(state, undefined, demand) : usable.some(roomy);
      if (!gpuRoom) return;
      offered = record.offers(context(usable.filter(roomy)));
      break;
    }
  }
  for (const value of offered) note(name, value);
}

/** Whether the node's GPUs have room, CPU and memory aside (for relaxing those two). */
function gpuRoomIgnoring(state: NodeState, usable: readonly GpuGroup[], demand: Demand): boolean {
  const gpuOnly: Demand = { ...demand, cpuMilli: 0, memoryMib: 0 };
  return demand.gpus === 0 || usable.some((group) => freeFits(state, group, gpuOnly));
}

function mostFailed(failing: Partial<Record<ConstraintName, number>>): ConstraintName | undefined {
  let best: ConstraintName | undefined;
  for (const name of CONSTRAINTS) if ((failing[name] ?? 0) > (best ? (failing[best] ?? 0) : 0)) best = name;
  return best;
}

/** A GPU job where no node has a GPU: said plainly, with what would help, not as a constraint count. */
function noGpuSentence(total: number, relaxations: readonly Relaxation[]): string {
  const cpu = relaxations.some((r) => r.constraint === "gpuCount" && r.value === 0)
    ? "; set resources.gpus to 0 to run it on CPU now"
    : "";
  return `no node in this region has a GPU (its ${total} node(s) are CPU-only): the job waits until a GPU provider joins (meridian-agent on a host with an NVIDIA GPU), or submit it to a region with GPUs${cpu}`;
}

function sentence(
  placeable: boolean,
  total: number,
  binding: Explanation["binding"],
  busy: number,
  failing: Partial<Record<ConstraintName, number>>,
  relaxations: readonly Relaxation[],
  demand: Demand,
): string {
  if (placeable) return "fits now";
  if (total === 0) return "no nodes are registered in this region yet";
  if (binding === "capacity") {
    return `waiting for capacity: ${busy} matching node(s) are busy`;
  }
  // Said before any other constraint: relaxing a label or a price would not make such a node take work.
  if ((failing.offline ?? 0) === total) {
    return `none of the ${total} node(s) takes new work now: each is draining (outside its operating windows, or shutting down) or offline; the job is placed when one takes work again`;
  }
  const counts = CONSTRAINTS.filter((name) => (failing[name] ?? 0) > 0)
    .map((name) => `${failing[name]} fail ${name}`)
    .join(", ");
  const advice = relaxations[0] ? `; nearest fix: ${relaxations[0].text}` : "";
  const who =
    demand.nodes > 1
      ? `fewer than ${demand.nodes} of the ${total} node(s) can take this gang`
      : `none of the ${total} node(s) can take this job`;
  return `${who} (${counts}); binding constraint: ${binding}${advice}`;
}
