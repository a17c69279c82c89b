import type { BoardReplica } from "./replica-board.js";

/**
 * A region tells the endpoint's object that one of its replicas changed readiness, so a request
 * waiting for a cold start is served at once and routing sees the change without polling.
 */
export async function replicaChanged(env: Env, region: string, replica: BoardReplica): Promise<void> {
  const namespace = (env as { ENDPOINT?: DurableObjectNamespace }).ENDPOINT;
  if (!namespace) return;
  const stub = namespace.get(namespace.idFromName(replica.endpointId)) as unknown as {
    replicaChanged?: (region: string, replica: BoardReplica) => Promise<unknown>;
  };
  await stub.replicaChanged?.(region, replica)?.catch(() => undefined);
}
