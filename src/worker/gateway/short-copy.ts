/** Hands a promise to the request's `waitUntil`, so work after the response still runs. */
export type Background = (work: Promise<unknown>) => void;

interface Entry<V> {
  value: V;
  loadedAt: number;
}

/**
 * An isolate's short-lived copy of facts a Durable Object holds, so the gateway's per-request path
 * reads memory instead of crossing to the object. An entry is used until it is `maxAgeMs` old;
 * past `refreshAfterMs` a request still uses it but reloads it in the background, so under steady
 * traffic no request waits for a load. A value is never older than `maxAgeMs` when used, which
 * bounds how long a change made elsewhere (a revoked key, a deleted endpoint) takes to be seen by
 * an isolate that did not make it; `forget` makes the isolate that made it see it at once, and a
 * load begun before a `forget` does not store what it read.
 */
export class ShortCopy<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loading = new Map<string, Promise<V | null>>();
  private epoch = 0;

  constructor(private readonly options: { maxAgeMs: number; refreshAfterMs: number; maxEntries: number }) {}

  /** The copy of `key`, loaded with `load` when missing or too old; null answers are not kept. */
  async get(
    key: string,
    load: () => Promise<V | null>,
    background: Background,
    now: number = Date.now(),
  ): Promise<V | null> {
    const entry = this.entries.get(key);
    const age = entry ? now - entry.loadedAt : Number.POSITIVE_INFINITY;
    if (entry && age < this.options.maxAgeMs) {
      if (age >= this.options.refreshAfterMs && !this.loading.has(key))
        background(this.load(key, load).catch(() => undefined));
      return entry.value;
    }
    return this.loading.get(key) ?? this.load(key, load);
  }

  /** Drops `key` (or every key `matches` accepts); loads in flight will not store theirs. */
  forget(matches: string | ((key: string) => boolean)): void {
    this.epoch += 1;
    if (typeof matches === "string") this.entries.delete(matches);
    else for (const key of [...this.entries.keys()]) if (matches(key)) this.entries.delete(key);
  }

  private load(key: string, load: () => Promise<V | null>): Promise<V | null> {
    const epoch = this.epoch;
    const startedAt = Date.now();
    const pending = load()
      .then((value) => {
        if (value === null) this.entries.delete(key);
        else if (epoch === this.epoch) this.store(key, value, startedAt);
        return value;
      })
      .finally(() => {
        if (this.loading.get(key) === pending) this.loading.delete(key);
      });
    this.loading.set(key, pending);
    return pending;
  }

  private store(key: string, value: V, loadedAt: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.options.maxEntries) {
      // A Map iterates in insertion order: the first entry is the least recently loaded.
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, loadedAt });
  }
}
