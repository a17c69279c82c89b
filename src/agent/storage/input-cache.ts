import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AgentLog } from "../agent-log.js";

interface Entry {
  key: string;
  file: string;
  size: number;
  lastUsed: number;
}

export interface CachedFile {
  path: string;
  hit: boolean;
  /** The attempt no longer needs it: it may be evicted from now on. */
  release(): void;
}

export interface InputCacheOptions {
  dir: string;
  /** The most the cache may hold; least recently used inputs go first (the seed's providers keep 100 GB). */
  maxBytes: number;
  log: AgentLog;
  now?: () => number;
}

/**
 * Verified inputs kept on the node, keyed by their content (`sha256:…`, `cid:…`), so the next job
 * that needs the same model or data set starts without downloading it. Least recently used first
 * out, never while an attempt has it mounted.
 */
export class InputCache {
  private entries: Map<string, Entry> | undefined;
  private readonly inUse = new Map<string, number>();
  private readonly filling = new Map<string, Promise<Entry>>();
  private readonly now: () => number;

  constructor(private readonly options: InputCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  get bytes(): number {
    let total = 0;
    for (const entry of this.entries?.values() ?? []) total += entry.size;
    return total;
  }

  /** The cached file for `key`, filled by `fill(tempPath)` (which must verify it) when absent. */
  async get(key: string, fill: (tempPath: string) => Promise<void>): Promise<CachedFile> {
    const entries = await this.load();
    const known = entries.get(key);
    if (known && (await exists(join(this.options.dir, known.file)))) {
      known.lastUsed = this.now();
      await this.save();
      return this.hold(known, true);
    }
    let pending = this.filling.get(key);
    const filler = pending === undefined;
    if (pending === undefined) {
      pending = this.fill(key, fill);
      this.filling.set(key, pending);
      pending.finally(() => this.filling.delete(key)).catch(() => {});
    }
    const entry = await pending;
    return this.hold(entry, !filler);
  }

  private async fill(key: string, fill: (tempPath: string) => Promise<void>): Promise<Entry> {
    const entries = await this.load();
    const file = createHash("sha256").update(key).digest("hex");
    const temp = join(this.options.dir, `${file}.partial`);
    await rm(temp, { force: true });
    try {
      await fill(temp);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    await rename(temp, join(this.options.dir, file));
    const entry: Entry = {
      key,
      file,
      size: (await stat(join(this.options.dir, file))).size,
      lastUsed: this.now(),
    };
    entries.set(key, entry);
    // Held before eviction runs, so the file just fetched is never the one evicted.
    this.inUse.set(key, (this.inUse.get(key) ?? 0) + 1);
    try {
      await this.evict();
    } finally {
      this.inUse.set(key, (this.inUse.get(key) ?? 1) - 1);
    }
    await this.save();
    return entry;
  }

  private hold(entry: Entry, hit: boolean): CachedFile {
    this.inUse.set(entry.key, (this.inUse.get(entry.key) ?? 0) + 1);
    let released = false;
    return {
      path: join(this.options.dir, entry.file),
      hit,
      release: () => {
        if (released) return;
        released = true;
        this.inUse.set(entry.key, Math.max(0, (this.inUse.get(entry.key) ?? 1) - 1));
        void this.evict().catch(() => {});
      },
    };
  }

  private async evict(): Promise<void> {
    const entries = await this.load();
    let total = this.bytes;
    const candidates = [...entries.values()].sort((a, b) => a.lastUsed - b.lastUsed);
    for (const entry of candidates) {
      if (total <= this.options.maxBytes) break;
      if ((this.inUse.get(entry.key) ?? 0) > 0) continue;
      entries.delete(entry.key);
      total -= entry.size;
      await rm(join(this.options.dir, entry.file), { force: true });
      this.options.log.info(
        `input cache: evicted ${entry.key} (${entry.size} bytes) to stay within ${this.options.maxBytes}`,
      );
    }
    await this.save();
  }

  private async load(): Promise<Map<string, Entry>> {
    if (this.entries) return this.entries;
    await mkdir(this.options.dir, { recursive: true });
    let list: Entry[] = [];
    try {
      list = JSON.parse(await readFile(join(this.options.dir, "index.json"), "utf8")) as Entry[];
    } catch {
      list = [];
    }
    this.entries ??= new Map(list.map((entry) => [entry.key, entry]));
    return this.entries;
  }

  private async save(): Promise<void> {
    const list = [...(this.entries?.values() ?? [])];
    const temp = join(
      this.options.dir,
      `index.json.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`,
    );
    await writeFile(temp, JSON.stringify(list));
    await rename(temp, join(this.options.dir, "index.json"));
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
