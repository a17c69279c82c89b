import type { Demand } from "../demand.js";
import { roomFor, type ShardSummary } from "./shard-summary.js";

/**
 * The coordinator's choice among a region's shards, from the summaries they publish: the shards
 * that could hold the job (room for an allowed model, and enough nodes for a gang), two of them
 * sampled and the roomier first (the power of two choices: near the balance of asking all, at the
 * cost of asking two), then the other, then the rest by room. Empty when no shard has room.
 */
export function shardOrder(
  summaries: readonly ShardSummary[],
  demand: Demand,
  random: () => number,
): number[] {
  const rooms = summaries
    .filter((summary) => summary.nodes >= demand.nodes)
    .map((summary) => ({ shard: summary.shard, room: roomFor(summary, demand) }))
    .filter((entry) => entry.room > 0);
  if (rooms.length <= 2) return rooms.sort((a, b) => b.room - a.room).map((entry) => entry.shard);
  const first = Math.floor(random() * rooms.length);
  let second = Math.floor(random() * (rooms.length - 1));
  if (second >= first) second++;
  const a = rooms[first];
  const b = rooms[second];
  if (!a || !b) return [];
  const sampled = a.room >= b.room ? [a, b] : [b, a];
  const rest = rooms.filter((entry) => entry !== a && entry !== b).sort((x, y) => y.room - x.room);
  return [...sampled, ...rest].map((entry) => entry.shard);
}

/**
 * Where a job goes that no shard has room for now: it queues on the shard with the most nodes
 * (ties to the lowest index), the likeliest to free room and the only kind that may fit a gang.
 */
export function fallbackShard(summaries: readonly ShardSummary[]): number {
  let best = summaries[0];
  for (const summary of summaries) if (best === undefined || summary.nodes > best.nodes) best = summary;
  return best?.shard ?? 0;
}
