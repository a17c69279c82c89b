import type { NodeState } from "./node-state.js";

/**
 * Buckets of nodes kept sorted by price, then registration order, so the first nodes a search
 * meets in a bucket are its cheapest (and, among equals, the earliest).
 */
const byPriceThenSeq = (a: NodeState, b: NodeState): number =>
  a.node.pricePerGpuHourMicros - b.node.pricePerGpuHourMicros || a.seq - b.seq;

export function insertSorted(bucket: NodeState[], state: NodeState): void {
  let low = 0;
  let high = bucket.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const other = bucket[mid];
    if (other && byPriceThenSeq(other, state) < 0) low = mid + 1;
    else high = mid;
  }
  bucket.splice(low, 0, state);
}

export function removeSorted(bucket: NodeState[], state: NodeState): void {
  let low = 0;
  let high = bucket.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const other = bucket[mid];
    if (other && byPriceThenSeq(other, state) < 0) low = mid + 1;
    else high = mid;
  }
  if (bucket[low] === state) bucket.splice(low, 1);
}
