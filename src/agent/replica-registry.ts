import type { ReplicaFrame } from "../shared/endpoints/tunnel-protocol.js";
import type { ReplicaRunner } from "./replica-runner.js";
import type { ReplicaTargets } from "./tunnel/tunnel-client.js";

/** The endpoint replicas this node runs now, by attempt id: what the tunnel forwards to. */
export class ReplicaRegistry implements ReplicaTargets {
  private readonly replicas = new Map<string, ReplicaRunner>();

  add(replica: ReplicaRunner): void {
    this.replicas.set(replica.attemptId, replica);
  }

  /** Forgets a replica whose attempt is over (only the runner that holds the id, not a newer one). */
  remove(replica: ReplicaRunner): void {
    if (this.replicas.get(replica.attemptId) === replica) this.replicas.delete(replica.attemptId);
  }

  get(attemptId: string): ReplicaRunner | undefined {
    return this.replicas.get(attemptId);
  }

  get size(): number {
    return this.replicas.size;
  }

  open(attemptId: string): ReturnType<ReplicaTargets["open"]> {
    return this.replicas.get(attemptId)?.open();
  }

  frames(): ReplicaFrame[] {
    return [...this.replicas.values()].map((replica) => replica.frame());
  }
}
