import type { SubmitOutcome, SubmitRequest } from "../durable/region-records.js";
import { unwrap } from "../durable/rpc-result.js";
import { demandFromSpec, fallbackShard, shardOf, shardOrder } from "../durable/scheduler/index.js";
import type { NodeView, PlacementExplanation, QuoteView } from "../shared/api.js";
import { MeridianError } from "../shared/errors.js";
import type { JobSpec } from "../shared/job-spec.js";
import { parseUsd } from "../shared/money.js";
import { shardStub, shardStubs } from "./region-routing.js";

/**
 * The coordinator of a sharded region, in the Worker: it places a submit on one shard from the
 * summaries the shards publish (free capacity per GPU model, node counts: a few numbers each,
 * never their nodes), by the power of two choices among those with room (shard-order.ts), and
 * answers region-wide reads by asking every shard. A region of one shard is asked directly, as
 * before sharding. A gang goes to one shard, which keeps it on one site where it can.
 */
export async function submitToRegion(
  env: Env,
  region: string,
  request: SubmitRequest,
): Promise<SubmitOutcome> {
  const stubs = shardStubs(env, region);
  const only = stubs.length === 1 ? stubs[0] : undefined;
  if (only) return unwrap(await only.submit(request));
  const summaries = await Promise.all(stubs.map(async (stub) => unwrap(await stub.shardSummary())));
  const demand = demandFromSpec(request.spec);
  const shard = shardOrder(summaries, demand, Math.random)[0] ?? fallbackShard(summaries);
  try {
    return unwrap(await shardStub(env, region, shard).submit(request));
  } catch (error) {
    // A replayed Idempotency-Key whose job another shard holds: that shard answers the replay.
    const right = error instanceof MeridianError && error.code === "wrong_shard" ? jobShardOf(error) : null;
    if (right === null) throw error;
    return unwrap(await shardStub(env, region, right).submit(request));
  }
}

function jobShardOf(error: MeridianError): number | null {
  const key = (error.details as { shard?: unknown } | undefined)?.shard;
  const index = typeof key === "string" ? Number(key.slice(key.lastIndexOf("#") + 1)) : Number.NaN;
  return Number.isInteger(index) && index >= 0 ? index : null;
}

/** The nodes users may rent in a region: every shard's. */
export async function regionNodes(env: Env, region: string): Promise<NodeView[]> {
  const lists = await Promise.all(
    shardStubs(env, region).map(async (stub) => unwrap(await stub.listNodes())),
  );
  return lists.flat();
}

/**
 * A quote across a region's shards: the cheapest that places now (a submit lands on a shard with
 * room), else the first shard's (why it would wait).
 */
export async function regionQuote(env: Env, region: string, spec: JobSpec): Promise<QuoteView> {
  const quotes = await Promise.all(
    shardStubs(env, region).map(async (stub) => unwrap(await stub.quote(spec))),
  );
  const cost = (quote: QuoteView): number =>
    (quote.perHour === null ? undefined : parseUsd(quote.perHour)) ?? Number.POSITIVE_INFINITY;
  const placeable = quotes.filter((quote) => quote.placeable).sort((a, b) => cost(a) - cost(b));
  const best = placeable[0] ?? quotes[0];
  if (!best) throw new Error(`region ${region} has no shards`);
  return best;
}

/** Why each of these queued jobs of one region waits, asking each job's own shard. */
export async function regionExplanations(
  env: Env,
  region: string,
  jobIds: readonly string[],
): Promise<Record<string, PlacementExplanation>> {
  const stubs = shardStubs(env, region);
  const byShard = new Map<number, string[]>();
  for (const id of jobIds) {
    const shard = shardOf(id, stubs.length);
    byShard.set(shard, [...(byShard.get(shard) ?? []), id]);
  }
  const answers = await Promise.all(
    [...byShard].map(async ([shard, ids]) => unwrap(await shardStub(env, region, shard).explanations(ids))),
  );
  return Object.assign({}, ...answers);
}
