/**
 * Timing of the agent protocol. A poll is held open up to POLL_WAIT_MS (under the Workers' 25 s
 * limit for a held request); each poll renews the leases of the attempts it lists. A node is live
 * while it polled within NODE_GRACE_MS; an attempt whose lease lapses is lost.
 */
export const POLL_WAIT_MS = 20_000;
export const LEASE_TTL_MS = 45_000;
export const NODE_GRACE_MS = 45_000;
/** How often the alarm looks for lapsed leases and unflushed records while there is work. */
export const SWEEP_INTERVAL_MS = 5_000;
