/**
 * The longest an agent waits between two tries at a control plane that does not answer (the cap of
 * its poll and registration backoff). The region counts on it: after a restart it gives every node
 * a lease plus this long to find it again before their attempts are taken for lost.
 */
export const AGENT_RETRY_CAP_MS = 30_000;
