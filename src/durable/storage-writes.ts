/** Durable Object storage takes at most 128 keys in one put or delete. */
const STORAGE_CHUNK = 128;

/**
 * Writes and deletes entries in chunks the storage API accepts. Issued without an await between
 * them, the calls commit atomically together (the runtime coalesces them), so a state change and
 * the outbox entries that record it land together or not at all.
 */
export function writeEntries(
  storage: DurableObjectStorage,
  puts: readonly [string, unknown][],
  deletes: readonly string[],
): Promise<unknown> {
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < puts.length; i += STORAGE_CHUNK) {
    writes.push(storage.put(Object.fromEntries(puts.slice(i, i + STORAGE_CHUNK))));
  }
  for (let i = 0; i < deletes.length; i += STORAGE_CHUNK) {
    writes.push(storage.delete(deletes.slice(i, i + STORAGE_CHUNK)));
  }
  return Promise.all(writes);
}
