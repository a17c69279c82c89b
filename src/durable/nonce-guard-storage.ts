import { NonceGuard } from "./nonce-guard.js";
import { STORAGE_KEYS } from "./storage-keys.js";

/**
 * A nonce guard for a Durable Object: its promise (nonce-guard.ts) lives in the object's storage and
 * is read before the object takes any request.
 */
export function storedNonceGuard(ctx: DurableObjectState, now: number): NonceGuard {
  // Not awaited: the output gate holds every reply until the write is durable, which is what the
  // promise needs (no answer leaves for a timestamp storage does not yet cover).
  const guard = new NonceGuard(now, (promised) => void ctx.storage.put(STORAGE_KEYS.noncePromise, promised));
  void ctx.blockConcurrencyWhile(async () => {
    const stored = await ctx.storage.get([
      STORAGE_KEYS.noncePromise,
      STORAGE_KEYS.region,
      STORAGE_KEYS.fencing,
    ]);
    const promised = stored.get(STORAGE_KEYS.noncePromise);
    // An object that never stored anything never accepted anything: nothing of it to replay.
    guard.restore(typeof promised === "number" ? promised : stored.size === 0 ? null : undefined);
  });
  return guard;
}
