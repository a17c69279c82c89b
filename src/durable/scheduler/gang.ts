import { distanceKm } from "../../shared/regions.js";
import type { SchedulerNode } from "./scheduler-node.js";
import type { Candidate } from "./scoring.js";

/**
 * Choosing N nodes for a gang: the best-scoring N that form one low-latency group. Nodes sharing a
 * site are one group; otherwise the group whose largest pairwise round trip is smallest, estimated
 * from positions or from each node's round trip to the region.
 */

/** Round trip between two nodes on one site; below any estimate across sites. */
const SAME_SITE_RTT_MS = 0.5;
/** Light in fibre covers about 100 km per millisecond of round trip, plus switching. */
const KM_PER_RTT_MS = 100;
const UNKNOWN_RTT_MS = 100;
/** Score a group gives up per millisecond of its worst round trip. */
const RTT_PENALTY_PER_MS = 0.01;
/** How many of the best candidates seed a greedy low-latency group. */
const SEEDS = 8;

/** Estimated round trip between two nodes, in milliseconds. */
export function mutualRttMs(a: SchedulerNode, b: SchedulerNode): number {
  if (a.site !== undefined && a.site === b.site) return SAME_SITE_RTT_MS;
  if (a.lat !== undefined && a.lon !== undefined && b.lat !== undefined && b.lon !== undefined) {
    return 1 + distanceKm(a.lat, a.lon, b.lat, b.lon) / KM_PER_RTT_MS;
  }
  // Both reach the region's centroid: the path through it bounds their direct round trip.
  if (a.rttMs !== undefined && b.rttMs !== undefined) return a.rttMs + b.rttMs;
  return UNKNOWN_RTT_MS;
}

export interface Gang {
  members: Candidate[];
  /** The largest estimated round trip between two members. */
  maxRttMs: number;
}

const meanScore = (members: readonly Candidate[]): number =>
  members.reduce((sum, member) => sum + member.score, 0) / Math.max(1, members.length);

/**
 * The best gang of `size` among `candidates` (scored, best first, distinct nodes), or null when
 * there are fewer. Value = mean member score − a penalty per millisecond of worst round trip.
 */
export function chooseGang(candidates: readonly Candidate[], size: number): Gang | null {
  if (candidates.length < size) return null;
  if (size === 1) {
    const first = candidates[0];
    return first ? { members: [first], maxRttMs: 0 } : null;
  }
  let best: Gang | null = null;
  let bestValue = Number.NEGATIVE_INFINITY;
  const consider = (members: Candidate[]): void => {
    const maxRttMs = worstRtt(members);
    const value = meanScore(members) - RTT_PENALTY_PER_MS * maxRttMs;
    if (value > bestValue) {
      bestValue = value;
      best = { members, maxRttMs };
    }
  };
  // Whole sites first: the best `size` candidates of each site that has enough.
  const bySite = new Map<string, Candidate[]>();
  for (const candidate of candidates) {
    const site = candidate.state.node.site;
    if (site === undefined) continue;
    const members = bySite.get(site) ?? [];
    if (members.length < size) members.push(candidate);
    bySite.set(site, members);
  }
  for (const members of bySite.values()) if (members.length === size) consider(members);
  // Then greedy groups grown from the best candidates by nearest round trip.
  for (const seed of candidates.slice(0, SEEDS)) consider(growGroup(seed, candidates, size));
  return best;
}

function worstRtt(members: readonly Candidate[]): number {
  let worst = 0;
  for (let i = 0; i < members.length; i++) {
    for (let j = i + 1; j < members.length; j++) {
      const a = members[i];
      const b = members[j];
      if (a && b) worst = Math.max(worst, mutualRttMs(a.state.node, b.state.node));
    }
  }
  return worst;
}

function growGroup(seed: Candidate, candidates: readonly Candidate[], size: number): Candidate[] {
  const members = [seed];
  // Each candidate's worst round trip to the group so far, updated as members join.
  const worst = new Map<Candidate, number>();
  for (const candidate of candidates) {
    if (candidate !== seed) worst.set(candidate, mutualRttMs(seed.state.node, candidate.state.node));
  }
  while (members.length < size) {
    let next: Candidate | undefined;
    let nextValue = Number.NEGATIVE_INFINITY;
    for (const [candidate, rtt] of worst) {
      const value = candidate.score - RTT_PENALTY_PER_MS * rtt;
      if (value > nextValue) {
        nextValue = value;
        next = candidate;
      }
    }
    if (!next) break;
    members.push(next);
    worst.delete(next);
    for (const [candidate, rtt] of worst) {
      worst.set(candidate, Math.max(rtt, mutualRttMs(next.state.node, candidate.state.node)));
    }
  }
  return members;
}
