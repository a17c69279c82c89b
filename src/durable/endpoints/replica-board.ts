import type { ReplicaState } from "../../shared/endpoints/endpoint-views.js";
import type { ReplicaFrame } from "../../shared/endpoints/tunnel-protocol.js";

/** What a region knows of one replica on one of its nodes, from the agent's `replica` frames. */
export interface BoardReplica {
  attemptId: string;
  fencing: number;
  endpointId: string;
  jobId: string;
  nodeId: string;
  state: ReplicaState;
  detail: string;
  /** When it entered its current state (ms). */
  since: number;
  /** Streams open to it now (memory only: none survive the object's restart). */
  inFlight: number;
}

/** The stored part of a replica: everything but its in-flight count. */
export type StoredReplica = Omit<BoardReplica, "inFlight">;

/** A 32-bit FNV-1a hash: cheap, stable, good enough to spread keys over replicas. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The replicas a region's nodes serve, and the choice of one per request: with an affinity key,
 * the ready replica that rendezvous hashing gives the key (so a session or a shared prompt prefix
 * stays on one replica while it is ready, and only its keys move when it goes); otherwise the
 * ready replica with the fewest requests in flight.
 */
export class ReplicaBoard {
  private readonly replicas = new Map<string, BoardReplica>();

  constructor(stored: readonly StoredReplica[]) {
    for (const replica of stored) this.replicas.set(replica.attemptId, { ...replica, inFlight: 0 });
  }

  /** Applies a frame the region checked to be from the attempt's current lease. False when nothing changed. */
  apply(
    frame: ReplicaFrame,
    owner: { endpointId: string; jobId: string; nodeId: string },
    now: number,
  ): boolean {
    const known = this.replicas.get(frame.attemptId);
    if (known && known.state === frame.state && known.detail === frame.detail) return false;
    if (known && known.fencing > frame.fencing) return false;
    this.replicas.set(frame.attemptId, {
      attemptId: frame.attemptId,
      fencing: frame.fencing,
      ...owner,
      state: frame.state,
      detail: frame.detail,
      since: now,
      inFlight: known?.inFlight ?? 0,
    });
    return true;
  }

  /** A node's tunnel closed: its replicas take no traffic until the agent says they are ready again. */
  nodeLost(nodeId: string, now: number): BoardReplica[] {
    const lost: BoardReplica[] = [];
    for (const replica of this.replicas.values()) {
      if (replica.nodeId !== nodeId || replica.state !== "ready") continue;
      replica.state = "unready";
      replica.detail = "the node's tunnel closed";
      replica.since = now;
      lost.push(replica);
    }
    return lost;
  }

  remove(attemptId: string): BoardReplica | undefined {
    const replica = this.replicas.get(attemptId);
    this.replicas.delete(attemptId);
    return replica;
  }

  get(attemptId: string): BoardReplica | undefined {
    return this.replicas.get(attemptId);
  }

  of(endpointId: string): BoardReplica[] {
    return [...this.replicas.values()].filter((r) => r.endpointId === endpointId);
  }

  all(): BoardReplica[] {
    return [...this.replicas.values()];
  }

  stored(): StoredReplica[] {
    return this.all().map(({ inFlight: _, ...rest }) => rest);
  }

  /** The replica a request goes to, among the ready ones not yet tried; undefined when none is left. */
  choose(
    endpointId: string,
    affinity: string | undefined,
    tried: ReadonlySet<string>,
  ): BoardReplica | undefined {
    const ready = this.of(endpointId).filter((r) => r.state === "ready" && !tried.has(r.attemptId));
    if (ready.length === 0) return undefined;
    if (affinity !== undefined && affinity !== "") {
      let best: BoardReplica | undefined;
      let bestScore = -1;
      for (const replica of ready) {
        const score = fnv1a(`${affinity}\u0000${replica.attemptId}`);
        if (score > bestScore) {
          best = replica;
          bestScore = score;
        }
      }
      return best;
    }
    // Fewest in flight; among equals the one ready longest, so a fresh replica warms up gradually.
    return ready.reduce((best, r) =>
      r.inFlight < best.inFlight || (r.inFlight === best.inFlight && r.since < best.since) ? r : best,
    );
  }
}
