/**
 * Every key the Region object writes in its Durable Object storage, in one place, so two parts can
 * never pick the same prefix and a migration finds all of them here.
 */
export const STORAGE_KEYS = {
  /** `job:<jobId>` → the job record (while it is in the region). */
  job: "job:",
  /** `node:<nodeId>` → the node's registration. */
  node: "node:",
  /** `rep:<nodeId>` → its reputation. */
  reputation: "rep:",
  /** `verif:<nodeId>` → its proof-of-GPU verification. */
  verification: "verif:",
  /** `outbox:<seq>` → a D1 record owed (see outbox.ts). */
  outbox: "outbox:",
  /** The last fencing number handed out; fencing numbers only ever grow. */
  fencing: "meta:fencing",
  /** The region's name, kept for wake-ups (an alarm after a restart) whose `ctx.id.name` is unset. */
  region: "meta:region",
  /** The nonce guard's promise: no timestamp above it was accepted (nonce-guard.ts). */
  noncePromise: "meta:nonce-promise",
} as const;

/** Storage entries under a prefix, keyed by what follows it. */
export function stripPrefix<T>(entries: Map<string, T>, prefix: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [key, value] of entries) out[key.slice(prefix.length)] = value;
  return out;
}
