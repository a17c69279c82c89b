import type { BoardReplica } from "./replica-board.js";

/**
 * A region tells the endpoint's object that one of its replicas changed readiness, so a request
 * waiting for a cold start is served at once and routing sees the change without polling.
 */
export async function replicaChanged(env: Env, region: string, replica: BoardReplica): Promise<void> {
  const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(replica.endpointId));
  await stub.replicaChanged(region, { ...replica }).catch(() => undefined);
}
