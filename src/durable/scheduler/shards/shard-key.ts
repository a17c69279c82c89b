import { MeridianError } from "../../../shared/errors.js";

/**
 * Which shard of a region holds a node: FNV-1a over the node id, modulo the shard count. Stable
 * across restarts and deploys (no seed), spread evenly over sortable ids whose prefixes repeat.
 */
export function shardOf(nodeId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < nodeId.length; index++) {
    hash ^= nodeId.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/** A shard's key, as the API names it: `<region>#<index>`. */
export const shardName = (region: string, index: number): string => `${region}#${index}`;

/**
 * The name a shard's Durable Object is addressed by: shard 0 keeps the region's own name, so a
 * region of one shard is the very object it was before regions were sharded (same storage).
 */
export const shardObjectName = (region: string, index: number): string =>
  index === 0 ? region : shardName(region, index);

/** The region and shard index an object's name says (the inverse of `shardObjectName`). */
export function shardOfObjectName(name: string): { region: string; index: number } {
  const at = name.lastIndexOf("#");
  if (at < 0) return { region: name, index: 0 };
  const index = Number(name.slice(at + 1));
  return { region: name.slice(0, at), index: Number.isInteger(index) && index > 0 ? index : 0 };
}

/**
 * The shard index a key names, refusing (404 `unknown_shard`) a key that names no shard of the
 * region: another region's, a malformed one, or an index past the region's shard count.
 */
export function parseShardKey(key: string, region: string, shards: number): number {
  const prefix = `${region}#`;
  const rest = key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
  const index = rest !== undefined && /^(0|[1-9][0-9]{0,5})$/.test(rest) ? Number(rest) : Number.NaN;
  if (!Number.isInteger(index) || index < 0 || index >= shards) {
    throw new MeridianError(
      404,
      "unknown_shard",
      `"${key.slice(0, 80)}" names no shard of region ${region} (it has ${shards}: ${shardName(region, 0)} to ${shardName(region, shards - 1)})`,
    );
  }
  return index;
}

/** Refuses (409 `wrong_shard`) a node's request that reached a shard other than its own. */
export function assertOwnShard(nodeId: string, index: number, shards: number): void {
  const own = shardOf(nodeId, shards);
  if (own !== index) {
    throw new MeridianError(409, "wrong_shard", `node ${nodeId} belongs to shard ${own}, not ${index}`, {
      shard: own,
    });
  }
}
