import { formatUsd } from "../../shared/money.js";
import { distanceKm } from "../../shared/regions.js";
import { holdFor } from "./backfill.js";
import {
  CONSTRAINTS,
  type ConstraintName,
  constraintNames,
  freeFits,
  gpuFailures,
  nodeFailures,
} from "./constraints.js";
import { type Demand, WHOLE_GPU_MILLI } from "./demand.js";
import type { GpuGroup, Inventory, NodeState } from "./inventory.js";
import { versionText } from "./version.js";

/** One change to the job that would let it be placed now. */
export interface Relaxation {
  constraint: ConstraintName;
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

type Values = { numbers: number[]; names: Map<string, number>; unknown: number };

const FIELD: Record<ConstraintName, string> = {
  excluded: "",
  offline: "",
  region: "placement.regions",
  country: "placement.countries",
  near: "placement.near.radiusKm",
  labels: "placement.requiredLabels",
  reputation: "placement.minReputation",
  bandwidth: "placement.minBandwidthGbps",
  price: "maxPricePerGpuHour",
  driver: "placement.minDriverVersion",
  cuda: "placement.minCudaVersion",
  tflops: "placement.minTflops",
  cpus: "resources.cpus",
  memory: "resources.memoryGb",
  gpuCount: "resources.gpus",
  gpuModel: "resources.gpuModels",
  tier: "placement.tiers",
  vram: "resources.minVramGb",
  computeCapability: "placement.minComputeCapability",
};

/**
 * Why `demand` cannot be placed now, for a user: per constraint how many nodes fail it, which one
 * binds, and the single changes that would place it now, nearest first. Scans every node: it
 * answers a question, it is not on the placement path.
 */
export function explain(inventory: Inventory, demand: Demand, now: number): Explanation {
  const failing: Partial<Record<ConstraintName, number>> = {};
  const values = new Map<ConstraintName, Values>();
  const note = (name: ConstraintName, value: number | string | undefined): void => {
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
  const gpuCountBit = 1 << CONSTRAINTS.indexOf("gpuCount");
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
    .flatMap(([name, entry]) => relaxationFor(name, entry, demand) ?? [])
    .sort((a, b) => a.distance - b.distance || b.nodes - a.nodes);
  const noGpu = demand.gpus > 0 && gpuNodes === 0 && inventory.size > 0;
  if (noGpu && cpuOnlyFits >= demand.nodes) {
    relaxations.push({
      constraint: "gpuCount",
      field: FIELD.gpuCount,
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
function noteSmallerFit(
  state: NodeState,
  demand: Demand,
  groups: readonly number[],
  note: (name: ConstraintName, value: number | string | undefined) => void,
): void {
  if (demand.gpus <= 1 || demand.gpuMilli < WHOLE_GPU_MILLI) return;
  if (state.freeCpuMilli < demand.cpuMilli || state.freeMemoryMib < demand.memoryMib) return;
  let most = 0;
  state.groups.forEach((group, index) => {
    if (groups[index] === 0) most = Math.max(most, state.wholeFree(group));
  });
  if (most > 0) note("gpuCount", most);
}

function noteRelaxed(
  state: NodeState,
  demand: Demand,
  name: ConstraintName,
  groups: readonly number[],
  note: (name: ConstraintName, value: number | string | undefined) => void,
): void {
  const node = state.node;
  const usable = state.groups.filter(
    (_, index) => ((groups[index] ?? 0) & ~(1 << CONSTRAINTS.indexOf(name))) === 0,
  );
  const roomy = (group: GpuGroup | undefined): boolean => freeFits(state, group, demand);
  const gpuRoom = demand.gpus === 0 ? freeFits(state, undefined, demand) : usable.some(roomy);
  switch (name) {
    case "gpuCount": {
      if (state.freeCpuMilli < demand.cpuMilli || state.freeMemoryMib < demand.memoryMib) return;
      const most = Math.max(0, ...usable.map((group) => state.wholeFree(group)));
      if (most > 0) note(name, most);
      return;
    }
    case "cpus":
      if (gpuRoomIgnoring(state, usable, demand)) note(name, state.freeCpuMilli);
      return;
    case "memory":
      if (gpuRoomIgnoring(state, usable, demand)) note(name, state.freeMemoryMib);
      return;
    default:
      break;
  }
  if (!gpuRoom) return;
  const roomyGroups = usable.filter(roomy);
  switch (name) {
    case "price":
      note(name, node.pricePerGpuHourMicros);
      return;
    case "gpuModel":
      for (const group of roomyGroups) note(name, group.model);
      return;
    case "tier":
      for (const group of roomyGroups) note(name, group.tier);
      return;
    case "vram":
      note(name, Math.max(...roomyGroups.map((group) => group.minVramMib)));
      return;
    case "computeCapability":
      note(name, Math.max(...roomyGroups.map((group) => group.minComputeCapability ?? 0)));
      return;
    case "driver":
      note(name, state.driverKey);
      return;
    case "cuda":
      note(name, state.cudaKey);
      return;
    case "tflops":
      note(name, node.verifiedTflops);
      return;
    case "reputation":
      note(name, node.reputation);
      return;
    case "bandwidth":
      note(name, node.bandwidthGbps);
      return;
    case "region":
      note(name, node.region);
      return;
    case "country":
      note(name, node.country);
      return;
    case "near": {
      const near = demand.constraints.near;
      if (!near || node.lat === undefined || node.lon === undefined) {
        note(name, undefined);
        return;
      }
      note(name, distanceKm(near.lat, near.lon, node.lat, node.lon));
      return;
    }
    case "labels":
      note(name, undefined);
      return;
    default:
      return;
  }
}

/** Whether the node's GPUs have room, CPU and memory aside (for relaxing those two). */
function gpuRoomIgnoring(state: NodeState, usable: readonly GpuGroup[], demand: Demand): boolean {
  const gpuOnly: Demand = { ...demand, cpuMilli: 0, memoryMib: 0 };
  return demand.gpus === 0 || usable.some((group) => freeFits(state, group, gpuOnly));
}

function relaxationFor(name: ConstraintName, entry: Values, demand: Demand): Relaxation | undefined {
  const need = demand.nodes;
  const c = demand.constraints;
  const field = FIELD[name];
  const lower = (current: number | undefined, format: (value: number) => string | number, unit = "") => {
    const sorted = [...entry.numbers].sort((a, b) => b - a);
    const value = sorted[need - 1];
    if (value === undefined || current === undefined) return dropIfUnknown(name, entry, need, field);
    const shown = format(value);
    return {
      constraint: name,
      field,
      value: shown,
      text: `lower ${field.split(".").pop()} to ${shown}${unit}`,
      nodes: sorted.length,
      distance: (current - value) / Math.max(Math.abs(current), 1e-9),
    };
  };
  const allow = (what: string) => {
    const [best, count] = [...entry.names.entries()].sort((a, b) => b[1] - a[1])[0] ?? [];
    if (best === undefined || count === undefined || count < need) return undefined;
    return {
      constraint: name,
      field,
      value: best,
      text: `allow ${what}${best}`,
      nodes: count,
      distance: 0.5,
    };
  };
  switch (name) {
    case "price": {
      const sorted = [...entry.numbers].sort((a, b) => a - b);
      const value = sorted[need - 1];
      const current = c.maxPricePerGpuHourMicros;
      if (value === undefined || current === undefined) return undefined;
      return {
        constraint: name,
        field,
        value: formatUsd(value),
        text: `raise maxPricePerGpuHour to ${formatUsd(value)}`,
        nodes: sorted.length,
        distance: (value - current) / Math.max(current, 1),
      };
    }
    case "near": {
      const sorted = [...entry.numbers].sort((a, b) => a - b);
      const value = sorted[need - 1];
      const current = c.near?.radiusKm;
      if (value === undefined || current === undefined) return undefined;
      const radius = Math.ceil(value);
      return {
        constraint: name,
        field,
        value: radius,
        text: `raise near.radiusKm to ${radius}`,
        nodes: sorted.length,
        distance: (radius - current) / Math.max(current, 1),
      };
    }
    case "gpuModel":
      return allow("");
    case "tier":
      return allow("tier ");
    case "region":
      return allow("region ");
    case "country":
      return allow("country ");
    case "vram":
      return lower(c.minVramMib, (mib) => Math.floor(mib / 1024));
    case "computeCapability":
      return lower(c.minComputeCapability, versionText);
    case "driver":
      return lower(c.minDriverVersion, versionText);
    case "cuda":
      return lower(c.minCudaVersion, versionText);
    case "tflops":
      return lower(c.minTflops, (value) => Math.floor(value * 100) / 100);
    case "reputation":
      return lower(c.minReputation, (value) => Math.floor(value * 100) / 100);
    case "bandwidth":
      return lower(c.minBandwidthGbps, (value) => Math.floor(value * 100) / 100);
    case "gpuCount":
      return lower(demand.gpus, (value) => value);
    case "cpus":
      return lower(demand.cpuMilli, (milli) => Math.floor(milli / 100) / 10);
    case "memory":
      return lower(demand.memoryMib, (mib) => Math.floor((mib / 1024) * 100) / 100);
    case "labels":
      return dropIfUnknown(name, entry, need, field);
    default:
      return undefined;
  }
}

/** "remove the constraint" advice, when enough nodes lack the figure it asks about. */
function dropIfUnknown(
  name: ConstraintName,
  entry: Values,
  need: number,
  field: string,
): Relaxation | undefined {
  const nodes = entry.unknown + entry.numbers.length;
  if (nodes < need) return undefined;
  return { constraint: name, field, text: `remove ${field}`, nodes, distance: 1 };
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
