import { MeridianError } from "../shared/errors.js";
import type { Timing } from "./lease.js";
import type { RegionStanding } from "./node-standing.js";
import type { NonceGuard } from "./nonce-guard.js";
import type { PollWaiters } from "./poll-waiters.js";
import type { AgentCaller, NodeRecord } from "./region-records.js";
import { assertNodeHere, type ShardPlace } from "./region-shard.js";
import type { RegionState } from "./region-state.js";

/**
 * What the Region object's calls work on, handed to the modules that answer them: the state
 * machine and the standing it reads (both built once storage is read), the held polls, and the
 * object's save, which writes what a step staged before anyone is answered.
 */
export interface RegionContext {
  readonly state: RegionState;
  readonly standing: RegionStanding;
  readonly waiters: PollWaiters;
  readonly nonces: NonceGuard;
  readonly timing: Timing;
  /** Which shard of its region this object is: it answers only its own nodes. */
  readonly shard: ShardPlace;
  /** Writes what the steps so far staged, wakes the polls they concern, then sends D1 its records. */
  save(): Promise<unknown>;
}

/**
 * The registered node a signed agent request comes from: its nonce must be fresh (the nonce
 * guard) and its key the one the node registered with; else a 401 that tells the agent to register.
 * A node of another shard is refused (409 `wrong_shard`) before its nonce is spent here.
 */
export function authenticate(region: RegionContext, caller: AgentCaller, now: number): NodeRecord {
  if (caller.nodeId) assertNodeHere(region.shard, caller.nodeId);
  region.nonces.check(caller.nonce, caller.timestamp, now);
  const node = caller.nodeId ? region.state.nodes.get(caller.nodeId) : undefined;
  if (!node || node.publicKey !== caller.publicKey) {
    throw new MeridianError(
      401,
      "unknown_node",
      "this node is not registered in this region; register first",
    );
  }
  return node;
}

/**
 * Runs an agent request of `node` the region now owes an answer (`token`, its nonce): until it
 * answers, however long its D1 flush waits, the node counts as present and keeps its leases.
 */
export async function answering<T>(
  region: RegionContext,
  nodeId: string,
  token: string,
  work: () => Promise<T>,
): Promise<T> {
  region.state.requestOpened(nodeId, token, Date.now());
  try {
    return await work();
  } finally {
    region.state.requestAnswered(nodeId, token, Date.now());
  }
}
