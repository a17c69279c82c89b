/**
 * The benches' local stack (test/support/control-plane.ts's launcher on a state folder they keep),
 * plus write counters installed as SQLite triggers in the local D1 database and snapshots of the
 * Durable Objects' storage: the benches measure writes from outside, with nothing added to src/.
 */
import { execFile } from "node:child_process";
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { type ControlPlane, startControlPlane } from "../../test/support/control-plane.js";

const run = promisify(execFile);

/** The local stack a bench drives: the same launcher as the end-to-end tests. */
export type LocalStack = ControlPlane & { dispose(): Promise<void> };

export { freshState } from "../../test/support/control-plane.js";

/** Starts `wrangler dev` on a state folder the bench keeps; `dispose` stops it and removes the folder. */
export async function startStack(state: string, vars: Record<string, string> = {}): Promise<LocalStack> {
  const plane = await startControlPlane({ state, vars });
  return {
    ...plane,
    dispose: async () => {
      await plane.stop();
      await rm(state, { recursive: true, force: true });
    },
  };
}

/**
 * The object databases in a miniflare persist folder: each is named by a 64-hex-digit hash;
 * miniflare keeps its own `metadata.sqlite` beside them, which is not one of them.
 */
async function sqliteFiles(dir: string): Promise<string[]> {
  try {
    const names = await readdir(dir);
    return names.filter((n) => /^[0-9a-f]{64}\.sqlite$/.test(n)).map((n) => path.join(dir, n));
  } catch {
    return [];
  }
}

/** The local D1 database file of the DB binding. */
export async function d1File(state: string): Promise<string> {
  const [file] = await sqliteFiles(path.join(state, "v3", "d1", "miniflare-D1DatabaseObject"));
  if (!file) throw new Error(`no local D1 database under ${state}`);
  return file;
}

/** The Region objects' SQLite files (one per region used). */
export function regionFiles(state: string): Promise<string[]> {
  return sqliteFiles(path.join(state, "v3", "do", "meridian-RegionObject"));
}

export async function sqlite(file: string, sql: string, readonly = false): Promise<string> {
  const args = readonly ? ["-readonly", file, sql] : [file, sql];
  const { stdout } = await run("sqlite3", args);
  return stdout;
}

/**
 * Counts every row written in a local D1 database by table and operation (AFTER triggers into
 * `bench_writes`). Install only while wrangler dev is stopped. (Durable Object databases refuse
 * such triggers: workerd answers every storage call with an error; use `kvSnapshot` there.)
 */
export async function installWriteCounters(file: string): Promise<void> {
  const tables = (
    await sqlite(
      file,
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT IN ('d1_migrations', 'bench_writes');",
    )
  )
    .split("\n")
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  const statements = [
    "CREATE TABLE IF NOT EXISTS bench_writes (tbl TEXT NOT NULL, op TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (tbl, op));",
  ];
  for (const table of tables) {
    for (const op of ["INSERT", "UPDATE", "DELETE"] as const) {
      statements.push(
        `CREATE TRIGGER IF NOT EXISTS "bench_${table}_${op.toLowerCase()}" AFTER ${op} ON "${table}" BEGIN ` +
          `INSERT INTO bench_writes (tbl, op, n) VALUES ('${table}', '${op.toLowerCase()}', 1) ` +
          "ON CONFLICT (tbl, op) DO UPDATE SET n = n + 1; END;",
      );
    }
  }
  await sqlite(file, statements.join("\n"));
}

export type WriteCounts = Record<string, number>;

/** What the counters hold now, as "table op" → rows. */
export async function readWriteCounts(file: string): Promise<WriteCounts> {
  const out: WriteCounts = {};
  const text = await sqlite(file, "SELECT tbl || ' ' || op, n FROM bench_writes;", true);
  for (const line of text.split("\n")) {
    const [key, n] = line.split("|");
    if (key && n) out[key] = Number(n);
  }
  return out;
}

export function diffCounts(after: WriteCounts, before: WriteCounts): WriteCounts {
  const out: WriteCounts = {};
  for (const [key, n] of Object.entries(after)) {
    const d = n - (before[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

export function total(counts: WriteCounts, filter: (key: string) => boolean = () => true): number {
  return Object.entries(counts)
    .filter(([key]) => filter(key))
    .reduce((sum, [, n]) => sum + n, 0);
}

/** A Durable Object's key-value storage as key → digest of the value (read-only, while it runs). */
export async function kvSnapshot(file: string): Promise<Map<string, string>> {
  const text = await sqlite(file, "SELECT key, hex(sha3(value)) FROM _cf_KV;", true);
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const at = line.lastIndexOf("|");
    if (at > 0) out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

/** Keys added, changed and removed between two snapshots, by key prefix (the part before ':'). */
export function kvDiff(after: Map<string, string>, before: Map<string, string>): WriteCounts {
  const out: WriteCounts = {};
  const bump = (key: string, what: string): void => {
    const label = `${key.split(":")[0] ?? key}: ${what}`;
    out[label] = (out[label] ?? 0) + 1;
  };
  for (const [key, digest] of after) {
    const was = before.get(key);
    if (was === undefined) bump(key, "added");
    else if (was !== digest) bump(key, "changed");
  }
  for (const key of before.keys()) if (!after.has(key)) bump(key, "removed");
  return out;
}
