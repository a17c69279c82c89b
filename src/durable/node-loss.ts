/**
 * How the region attributes the loss of a node's attempts. Each pass of the node-loss check (a
 * sweep, a reclaim) is one incident per node: every attempt the node loses in it counts towards its
 * quarantine once, however many it held. A loss the region caused itself is excused: after the
 * Region object restarts (a deploy, an eviction, a crashed `wrangler dev`) its nodes must find it
 * again, and until a node has polled or registered since, losing its attempts and its dropped
 * connections are the region's doing, not the provider's.
 */

/** One loss of one node, as the pass that found it ends the node's attempts. */
export interface NodeLoss {
  /** The same for every attempt ended in one pass: reputation counts the incident once. */
  incident: string;
  /** Not held against the node (it had no chance to come back after the region restarted). */
  excused: boolean;
  /** What the job's event says (how the loss was noticed); the lease's lapse when absent. */
  why?: string;
}

/**
 * Which nodes have yet to come back since the region restarted. Memory only: a restart builds it
 * afresh from the nodes in storage, every one of them awaited.
 */
export class RestartGrace {
  private readonly awaited: Set<string>;

  constructor(restoredNodeIds: Iterable<string>) {
    this.awaited = new Set(restoredNodeIds);
  }

  /** The node polled or registered: from now on what it does is its own. */
  returned(nodeId: string): void {
    this.awaited.delete(nodeId);
  }

  /**
   * Whether the node has not been back since the region restarted. Its attempts then wait out
   * their restored leases (not its presence, which the restart wiped), and their loss is excused.
   */
  awaiting(nodeId: string): boolean {
    return this.awaited.has(nodeId);
  }

  /** The loss of a node found by the pass named `pass`, and whether it is held against the node. */
  loss(nodeId: string, pass: string, why?: string): NodeLoss {
    return { incident: pass, excused: this.awaiting(nodeId), ...(why === undefined ? {} : { why }) };
  }
}
