/**
 * Bench-only launcher for the local stack (a copy of test/support/control-plane.ts that also
 * exposes the state folder, takes extra vars, and counts the requests wrangler dev logs), plus
 * write counters installed as SQLite triggers in the local D1 and Durable Object databases: the
 * benches measure writes from outside, with nothing added to src/.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../test/support/control-plane.js";

const run = promisify(execFile);

export interface LocalStack {
  url: string;
  /** The --persist-to folder: local D1 and Durable Object SQLite files live under it. */
  state: string;
  /** Requests wrangler dev logged as answered, by path prefix (server-side count). */
  served(prefix: string): number;
  output(): string;
  /** Stops wrangler dev; the state folder stays until `dispose`. */
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

const baseEnv = (vars: Record<string, string>): NodeJS.ProcessEnv => ({
  ...process.env,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  NO_COLOR: "1",
  ...vars,
});

/** A fresh state folder with the migrations applied; `prepare` runs before wrangler dev starts. */
export async function freshState(): Promise<string> {
  const state = await mkdtemp(path.join(tmpdir(), "meridian-bench-"));
  await run("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
    env: baseEnv({}),
  });
  return state;
}

export async function startStack(state: string, vars: Record<string, string> = {}): Promise<LocalStack> {
  const env = baseEnv({});
  const port = await freePort();
  const inspector = await freePort();
  const child: ChildProcess = spawn(
    "npx",
    [
      "wrangler",
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
      "--persist-to",
      state,
      "--show-interactive-dev-session=false",
      // --var wins over [vars] and over a local .dev.vars (which shuts out the process environment).
      ...Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
    ],
    { env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let log = "";
  const served = new Map<string, number>();
  let partial = "";
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString();
    if (log.length < 200_000) log += text;
    else log = log.slice(-100_000) + text;
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      // e.g. "[wrangler:info] POST /v1/agent/poll 200 OK (20012ms)"
      const match = /\b(GET|POST|PUT|DELETE|PATCH) (\/\S*) (\d{3})/.exec(line);
      if (match?.[2]) served.set(match[2], (served.get(match[2]) ?? 0) + 1);
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid, "SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
    }
  };
  const stack: LocalStack = {
    url,
    state,
    served: (prefix) => {
      let n = 0;
      for (const [p, count] of served) if (p.startsWith(prefix)) n += count;
      return n;
    },
    output: () => log,
    stop,
    dispose: async () => {
      await stop();
      await rm(state, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/v1/health`);
      if (res.ok) return stack;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not answer on ${url}:\n${log}`);
}

async function sqliteFiles(dir: string): Promise<string[]> {
  try {
    const names = await readdir(dir);
    return names.filter((n) => n.endsWith(".sqlite")).map((n) => path.join(dir, n));
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
