import { z } from "zod";
import { MeridianError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { shardName, shardOf, shardOfObjectName } from "./scheduler/index.js";

/** The most shards one region may be split into (each is one Durable Object). */
export const MAX_REGION_SHARDS = 64;

const ShardCount = z.coerce.number().int().min(1).max(MAX_REGION_SHARDS);

/**
 * `REGION_SHARDS`: how many Region objects each region is split into by node-id hash. Unset or
 * empty: 1 (one object per region, as before sharding). A number applies to every region; a JSON
 * object (`{"us-east": 4}`) names regions, the rest keep 1.
 */
const ShardsSetting = z.union([ShardCount, z.record(z.string(), ShardCount)]);

/** The one binding this reads (any `Env`: the Worker's and the objects' have it when it is set). */
export type ShardsEnv = object;

let cached: { source: string; setting: z.infer<typeof ShardsSetting> } | undefined;

function settingOf(env: ShardsEnv): z.infer<typeof ShardsSetting> {
  const source = String((env as { REGION_SHARDS?: unknown }).REGION_SHARDS ?? "").trim();
  if (cached?.source === source) return cached.setting;
  let raw: unknown = 1;
  if (source !== "") {
    try {
      raw = source.startsWith("{") ? JSON.parse(source) : source;
    } catch {
      raw = source;
    }
  }
  const parsed = ShardsSetting.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `REGION_SHARDS must be a shard count (1-${MAX_REGION_SHARDS}) or a JSON object of them by region, not ${source.slice(0, 80)}`,
    );
  }
  cached = { source, setting: parsed.data };
  return parsed.data;
}

/** How many shards `region` has. */
export function shardCountOf(env: ShardsEnv, region: string): number {
  const setting = settingOf(env);
  return typeof setting === "number" ? setting : (setting[region] ?? 1);
}

/** Which shard of its region one Region object is, from its name (`<region>` or `<region>#<k>`). */
export interface ShardPlace {
  region: string;
  index: number;
  count: number;
}

export function shardPlaceOf(env: ShardsEnv, objectName: string): ShardPlace {
  const { region, index } = shardOfObjectName(objectName);
  return { region, index, count: shardCountOf(env, region) };
}

/** Refuses (409 `wrong_shard`, naming the right one) a node whose id hashes to another shard. */
export function assertNodeHere(place: ShardPlace, nodeId: string): void {
  const own = shardOf(nodeId, place.count);
  if (own === place.index) return;
  const right = shardName(place.region, own);
  throw new MeridianError(
    409,
    "wrong_shard",
    `node ${nodeId} belongs to shard ${right}, not ${shardName(place.region, place.index)}`,
    { shard: right },
  );
}

/** Whether a job id belongs to this shard (a job's shard is its id's hash, as a node's is). */
export function jobIsHere(place: ShardPlace, jobId: string): boolean {
  return shardOf(jobId, place.count) === place.index;
}

/**
 * A new job id that hashes to this shard, so that whoever holds only the id (the Worker, reading
 * a job row) finds the shard that holds the job. About `count` draws of the random part.
 */
export function newJobIdHere(place: ShardPlace, now: number): string {
  for (let draw = 0; draw < 1000 * place.count; draw++) {
    const id = newId("job", now);
    if (jobIsHere(place, id)) return id;
  }
  throw new Error(`no job id of shard ${place.index} in ${1000 * place.count} draws`);
}

/** Refuses (409 `wrong_shard`, naming the right one) a job this shard does not hold. */
export function wrongShardForJob(place: ShardPlace, jobId: string): MeridianError {
  const right = shardName(place.region, shardOf(jobId, place.count));
  return new MeridianError(409, "wrong_shard", `job ${jobId} belongs to shard ${right}`, { shard: right });
}
