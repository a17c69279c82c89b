/**
 * The protocol's timing, shortened so a lease lapses in seconds rather than the 45 s of a
 * deployment: polls held 1 s, leases and the node grace 5 s, a sweep every second. Leases are
 * renewed when a poll arrives, not when its hold ends, so the slack against a busy 2-core host is
 * the lease less the hold: 4 s.
 */
export const FAST_LEASES = {
  POLL_WAIT_MS: "1000",
  LEASE_TTL_MS: "5000",
  NODE_GRACE_MS: "5000",
  SWEEP_INTERVAL_MS: "1000",
};

/** As FAST_LEASES, and a dropped connection, or silence past the node's rhythm, noticed before the lease runs out. */
export const FAST_FAILOVER = {
  ...FAST_LEASES,
  RECONNECT_WINDOW_MS: "2000",
  MIN_SILENCE_MS: "2000",
};
