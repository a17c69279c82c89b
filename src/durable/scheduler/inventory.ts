import { GPU_CHECKS } from "./constraints/index.js";
import { type Demand, WHOLE_GPU_MILLI } from "./demand.js";
import {
  type ModelCapacity,
  type ModelIndex,
  newModelIndex,
  PARTIAL_STEPS,
  partialBucket,
  shapeKeyOf,
} from "./model-index.js";
import { NodeState } from "./node-state.js";
import { insertSorted, removeSorted } from "./price-buckets.js";
import {
  allocationUnits,
  type NodeAllocation,
  type Reservation,
  type ReservationMeta,
} from "./reservation.js";
import type { SchedulerNode } from "./scheduler-node.js";

export type { ModelCapacity, NodeShape } from "./model-index.js";
export { type GpuGroup, NodeState } from "./node-state.js";
export {
  allocationUnits,
  type GpuShare,
  type NodeAllocation,
  type Reservation,
  type ReservationMeta,
} from "./reservation.js";

/**
 * The region's live inventory, indexed for placement: every node, what is reserved on it, and
 * per GPU model, buckets of nodes by how many whole GPUs of that model they have free. A placement
 * for g GPUs of model m looks only at m's buckets g and up, so it never scans every node.
 * Buckets are kept sorted by price, so the first nodes a search meets in a bucket are its cheapest.
 */

const EMPTY_SITE: ReadonlySet<NodeState> = new Set();

/** How a search visitor continues: on to the next node, the next bucket, or not at all. */
export type VisitNext = "next" | "nextBucket" | "stop";

export class Inventory {
  private readonly states = new Map<string, NodeState>();
  private readonly models = new Map<string, ModelIndex>();
  private readonly cpuOnly: NodeState[] = [];
  private readonly reservations = new Map<string, Reservation>();
  private readonly usage = new Map<string, number>();
  private readonly sites = new Map<string, Set<NodeState>>();
  private nextSeq = 0;
  private visitStamp = 0;
  private largestGroup = 0;
  private freeCpuMilli = 0;
  private freeMemoryMib = 0;

  /** Adds a node, or replaces its description keeping its reservations (hardware, price, liveness). */
  upsertNode(node: SchedulerNode): void {
    const previous = this.states.get(node.id);
    if (previous) this.unindex(previous);
    const state = new NodeState(node, previous?.seq ?? this.nextSeq++);
    this.states.set(node.id, state);
    if (node.site !== undefined) {
      const members = this.sites.get(node.site) ?? new Set<NodeState>();
      members.add(state);
      this.sites.set(node.site, members);
    }
    if (previous) {
      for (const [key, allocation] of previous.reservations) {
        this.apply(state, key, allocation, 1);
        state.setExpectedEnd(key, this.reservations.get(key)?.expectedEndAt);
      }
    }
    for (const group of state.groups) {
      this.largestGroup = Math.max(this.largestGroup, group.indices.length);
      const index = this.modelIndex(group.model);
      const shapeKey = shapeKeyOf(group, node);
      const shape = index.shapes.get(shapeKey);
      if (shape) shape.count++;
      else
        index.shapes.set(shapeKey, {
          gpus: group.indices.length,
          cpuMilli: node.cpuMilli,
          memoryMib: node.memoryMib,
          count: 1,
        });
      index.maxVramMib = Math.max(index.maxVramMib, group.minVramMib);
      index.maxComputeCapability = Math.max(index.maxComputeCapability, group.minComputeCapability ?? 0);
      index.tiers.add(group.tier);
    }
    this.reindex(state);
  }

  /**
   * Removes a node. Reservations that held capacity on it are released everywhere (a gang that
   * lost a member is lost as a whole) and returned so the caller can mark their attempts lost.
   */
  removeNode(nodeId: string): Reservation[] {
    const state = this.states.get(nodeId);
    if (!state) return [];
    const lost = [...state.reservations.keys()].flatMap((key) => this.release(key) ?? []);
    this.unindex(state);
    this.states.delete(nodeId);
    return lost;
  }

  /** Marks a node live or not without changing anything else about it. */
  setSchedulable(nodeId: string, schedulable: boolean): void {
    const state = this.states.get(nodeId);
    if (state && state.node.schedulable !== schedulable) this.upsertNode({ ...state.node, schedulable });
  }

  get size(): number {
    return this.states.size;
  }

  node(nodeId: string): NodeState | undefined {
    return this.states.get(nodeId);
  }

  nodes(): IterableIterator<NodeState> {
    return this.states.values();
  }

  /** The nodes that report `site`: a low-latency group for gang placement. */
  siteMembers(site: string): ReadonlySet<NodeState> {
    return this.sites.get(site) ?? EMPTY_SITE;
  }

  /** Free GPU capacity (thousandths) of `model` on schedulable nodes. */
  modelFreeMilli(model: string): number {
    return this.models.get(model)?.freeMilli ?? 0;
  }

  /** The models any node has, with their free capacity and the node shapes that carry them. */
  modelCapacity(): Map<string, ModelCapacity> {
    return new Map(
      [...this.models].map(([model, index]) => [
        model,
        { freeMilli: index.freeMilli, shapes: [...index.shapes.values()] },
      ]),
    );
  }

  /**
   * Per model, what a coordinator needs to route work here without reading the nodes: free
   * capacity, and how many schedulable nodes have each count of whole GPUs free.
   */
  freeSummary(): Map<string, { freeMilli: number; nodesByWholeFree: number[] }> {
    return new Map(
      [...this.models].map(([model, index]) => [
        model,
        { freeMilli: index.freeMilli, nodesByWholeFree: index.byFree.map((bucket) => bucket?.length ?? 0) },
      ]),
    );
  }

  /** Free CPU (thousandths of a core) and memory on schedulable nodes, GPU nodes included. */
  freeCpu(): { cpuMilli: number; memoryMib: number } {
    return { cpuMilli: this.freeCpuMilli, memoryMib: this.freeMemoryMib };
  }

  reservation(key: string): Reservation | undefined {
    return this.reservations.get(key);
  }

  allReservations(): IterableIterator<Reservation> {
    return this.reservations.values();
  }

  /** GPU-equivalents an account holds now, for fair share. */
  accountUsage(accountId: string): number {
    return this.usage.get(accountId) ?? 0;
  }

  /**
   * Takes capacity for `key` on every listed node, or on none: each allocation is checked
   * against free capacity first, and only then is anything taken. False when the key already
   * holds a reservation, a node is unknown or not schedulable, or anything does not fit.
   */
  reserve(key: string, allocations: readonly NodeAllocation[], meta: ReservationMeta = {}): boolean {
    if (this.reservations.has(key) || allocations.length === 0) return false;
    const seen = new Set<string>();
    for (const allocation of allocations) {
      const state = this.states.get(allocation.nodeId);
      if (!state?.node.schedulable || seen.has(allocation.nodeId)) return false;
      seen.add(allocation.nodeId);
      if (!this.fitsFree(state, allocation)) return false;
    }
    for (const allocation of allocations) {
      const state = this.states.get(allocation.nodeId);
      if (!state) return false;
      this.apply(state, key, allocation, 1);
      state.setExpectedEnd(key, meta.expectedEndAt);
      this.reindex(state);
    }
    this.reservations.set(key, { key, allocations, ...meta });
    if (meta.accountId !== undefined) this.addUsage(meta.accountId, allocations, 1);
    return true;
  }

  /** Frees what `key` holds; returns the reservation, or undefined when there was none. */
  release(key: string): Reservation | undefined {
    const reservation = this.reservations.get(key);
    if (!reservation) return undefined;
    this.reservations.delete(key);
    for (const allocation of reservation.allocations) {
      const state = this.states.get(allocation.nodeId);
      if (!state) continue;
      this.apply(state, key, allocation, -1);
      state.setExpectedEnd(key, undefined);
      this.reindex(state);
    }
    if (reservation.accountId !== undefined)
      this.addUsage(reservation.accountId, reservation.allocations, -1);
    return reservation;
  }

  /**
   * Visits the schedulable nodes that could hold `demand`'s GPUs by free count alone, tightest
   * first (fewest free GPUs that still suffice, shared GPUs before whole ones), each bucket in
   * price order (`byPrice`; shared-GPU sets are not). Constraints are the visitor's to check.
   * Each node is visited at most once.
   */
  visitCandidates(
    demand: Demand,
    visit: (state: NodeState, bucket: number, byPrice: boolean) => VisitNext,
  ): void {
    const stamp = ++this.visitStamp;
    const models = this.modelIndexes(demand);
    let bucketNumber = 0;
    const walk = (bucket: Iterable<NodeState>, byPrice = true): boolean => {
      bucketNumber++;
      for (const state of bucket) {
        if (state.visitMark === stamp) continue;
        state.visitMark = stamp;
        const next = visit(state, bucketNumber, byPrice);
        if (next === "stop") return false;
        if (next === "nextBucket") return true;
      }
      return true;
    };
    if (demand.gpus === 0) {
      // CPU-only work goes to CPU-only nodes first, then to GPU nodes with the fewest GPUs free.
      if (!walk(this.cpuOnly)) return;
      for (let free = 0; free <= this.largestGroup; free++) {
        for (const index of models) if (!walk(index.byFree[free] ?? [])) return;
      }
      return;
    }
    if (demand.gpus === 1 && demand.gpuMilli < WHOLE_GPU_MILLI) {
      // Shared GPUs with the least room that may still fit first: they are the tightest fits.
      for (let step = partialBucket(demand.gpuMilli); step < PARTIAL_STEPS; step++) {
        for (const index of models) if (!walk(index.partial[step] ?? [], false)) return;
      }
    }
    for (let free = demand.gpus; free <= this.largestGroup; free++) {
      for (const index of models) if (!walk(index.byFree[free] ?? [])) return;
    }
  }

  private modelIndexes(demand: Demand): ModelIndex[] {
    const wanted = demand.constraints.gpuModels;
    if (demand.gpus === 0) return [...this.models.values()];
    const indexes =
      wanted === undefined
        ? [...this.models.values()]
        : wanted.flatMap((model) => this.models.get(model) ?? []);
    // Whole models that no node could satisfy are skipped without touching their nodes.
    return indexes.filter(
      (index) => !GPU_CHECKS.some((check) => check.record.rulesOutModel?.(index, demand)),
    );
  }

  private fitsFree(state: NodeState, allocation: NodeAllocation): boolean {
    if (allocation.cpuMilli > state.freeCpuMilli || allocation.memoryMib > state.freeMemoryMib) return false;
    const taken = new Map<number, number>();
    for (const share of allocation.gpus) {
      const index = state.gpuIndex(share.uuid);
      if (index === undefined || share.milli <= 0 || share.milli > WHOLE_GPU_MILLI) return false;
      const total = (taken.get(index) ?? 0) + share.milli;
      if (total > (state.freeMilli[index] ?? 0)) return false;
      taken.set(index, total);
    }
    return true;
  }

  private apply(state: NodeState, key: string, allocation: NodeAllocation, sign: 1 | -1): void {
    for (const share of allocation.gpus) {
      const index = state.gpuIndex(share.uuid);
      if (index === undefined) continue;
      state.freeMilli[index] = (state.freeMilli[index] ?? 0) - sign * share.milli;
    }
    state.freeCpuMilli -= sign * allocation.cpuMilli;
    state.freeMemoryMib -= sign * allocation.memoryMib;
    if (sign === 1) state.reservations.set(key, allocation);
    else state.reservations.delete(key);
  }

  private addUsage(accountId: string, allocations: readonly NodeAllocation[], sign: 1 | -1): void {
    let units = 0;
    for (const allocation of allocations) units += allocationUnits(allocation);
    const next = (this.usage.get(accountId) ?? 0) + sign * units;
    if (next <= 1e-9) this.usage.delete(accountId);
    else this.usage.set(accountId, next);
  }

  private modelIndex(model: string): ModelIndex {
    let index = this.models.get(model);
    if (!index) {
      index = newModelIndex();
      this.models.set(model, index);
    }
    return index;
  }

  /** Moves the node to the buckets its free capacity now belongs in. */
  private reindex(state: NodeState): void {
    const live = state.node.schedulable;
    this.countCpu(state, live);
    if (state.groups.length === 0 && live !== state.indexedCpuOnly) {
      if (live) insertSorted(this.cpuOnly, state);
      else removeSorted(this.cpuOnly, state);
      state.indexedCpuOnly = live;
    }
    state.groups.forEach((group, position) => {
      const index = this.modelIndex(group.model);
      const free = live ? state.wholeFree(group) : -1;
      const was = state.indexedFree[position] ?? -1;
      if (free !== was) {
        if (was >= 0) removeSorted(index.byFree[was] ?? [], state);
        if (free >= 0) {
          let bucket = index.byFree[free];
          if (!bucket) {
            bucket = [];
            index.byFree[free] = bucket;
          }
          insertSorted(bucket, state);
        }
        state.indexedFree[position] = free;
      }
      const counted = live ? state.freeOf(group) : 0;
      index.freeMilli += counted - (state.countedFree[position] ?? 0);
      state.countedFree[position] = counted;
      const partial = live ? partialBucket(state.largestPartial(group)) : -1;
      const wasPartial = state.indexedPartial[position] ?? -1;
      if (partial !== wasPartial) {
        if (wasPartial >= 0) index.partial[wasPartial]?.delete(state);
        if (partial >= 0) index.partial[partial]?.add(state);
        state.indexedPartial[position] = partial;
      }
    });
  }

  /** Keeps the free CPU and memory totals: a node counts what it has free while schedulable. */
  private countCpu(state: NodeState, live: boolean): void {
    const cpu = live ? state.freeCpuMilli : 0;
    const memory = live ? state.freeMemoryMib : 0;
    this.freeCpuMilli += cpu - state.countedCpuMilli;
    this.freeMemoryMib += memory - state.countedMemoryMib;
    state.countedCpuMilli = cpu;
    state.countedMemoryMib = memory;
  }

  private unindex(state: NodeState): void {
    const site = state.node.site;
    if (site !== undefined) {
      const members = this.sites.get(site);
      members?.delete(state);
      if (members?.size === 0) this.sites.delete(site);
    }
    if (state.indexedCpuOnly) removeSorted(this.cpuOnly, state);
    state.indexedCpuOnly = false;
    this.countCpu(state, false);
    state.groups.forEach((group, position) => {
      const index = this.modelIndex(group.model);
      const was = state.indexedFree[position] ?? -1;
      if (was >= 0) removeSorted(index.byFree[was] ?? [], state);
      state.indexedFree[position] = -1;
      const wasPartial = state.indexedPartial[position] ?? -1;
      if (wasPartial >= 0) index.partial[wasPartial]?.delete(state);
      state.indexedPartial[position] = -1;
      index.freeMilli -= state.countedFree[position] ?? 0;
      state.countedFree[position] = 0;
      const shapeKey = shapeKeyOf(group, state.node);
      const shape = index.shapes.get(shapeKey);
      if (shape && --shape.count <= 0) index.shapes.delete(shapeKey);
    });
  }
}
