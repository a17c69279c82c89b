import type { Assignment } from "../shared/agent-protocol.js";
import type { ReplicaService } from "../shared/endpoints/replica-service.js";
import type { AgentLog } from "./agent-log.js";
import type { ServiceHooks } from "./attempt-runner.js";
import type { Clock } from "./clock.js";
import type { ContainerRuntime } from "./container-runtime.js";
import { ReplicaRegistry } from "./replica-registry.js";
import { ReplicaRunner } from "./replica-runner.js";
import { TunnelClient } from "./tunnel/tunnel-client.js";

/** A replica as the work loop holds it: the hooks for its attempt, and `finished` once it is over. */
export interface HostedReplica {
  hooks: ServiceHooks;
  finished(): void;
}

export type ReplicaFactory = (assignment: Assignment, service: ReplicaService) => HostedReplica;

export interface ReplicaHosting {
  /** Handed each presence socket that opens. */
  tunnel: TunnelClient;
  replicas: ReplicaRegistry;
  /** For the work loop: the replica side of an assignment that carries a `service`. */
  start: ReplicaFactory;
}

/** Everything that serves endpoint replicas on this node, assembled once per agent. */
export function replicaHosting(deps: {
  runtime: ContainerRuntime;
  clock: Clock;
  log: AgentLog;
}): ReplicaHosting {
  const replicas = new ReplicaRegistry();
  const tunnel = new TunnelClient(replicas, deps.log);
  const start: ReplicaFactory = (assignment, service) => {
    const replica = new ReplicaRunner(assignment.attemptId, assignment.fencing, service, {
      clock: deps.clock,
      log: deps.log,
      address: async (containerId) => deps.runtime.address?.(containerId, assignment.attemptId),
      report: (frame) => tunnel.sendReplica(frame),
    });
    replicas.add(replica);
    return { hooks: replica, finished: () => replicas.remove(replica) };
  };
  return { tunnel, replicas, start };
}
