import { MeridianError } from "../shared/errors.js";
import type { NodePresence } from "./node-presence.js";

/**
 * Refuses an agent process that speaks for a node another live agent process holds (see
 * NodePresence.admit): one node identity, one live agent. Thrown before anything is recorded, so
 * the refused agent changes nothing — not the node's record, its attempts, nor its liveness.
 */
export function admitSession(
  presence: NodePresence,
  nodeId: string,
  session: string | undefined,
  now: number,
): void {
  const answer = presence.admit(nodeId, session, now);
  if (answer.ok) return;
  throw new MeridianError(
    409,
    "second_poller",
    `another agent is live for node ${nodeId}: only one agent may run per node identity. ` +
      "Stop the other agent (or give this one its own data folder, and so its own key); " +
      "this one is let in once the other has been gone for a few seconds",
  );
}
