import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { untilHealthy, watchStack } from "./stack-process.js";

const run = promisify(execFile);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ControlPlane {
  url: string;
  /** The --persist-to folder: the local D1 and Durable Object SQLite files live under it. */
  state: string;
  /** Requests wrangler dev logged as answered whose path starts with `prefix` (a server-side count). */
  served(prefix: string): number;
  /** Stops wrangler dev; removes the state folder too when this call created it. */
  stop(): Promise<void>;
  /** SIGKILL to wrangler dev and workerd at once, as a crash would; the state folder is kept. */
  kill(): Promise<void>;
  /** What wrangler printed, for failure messages. */
  output(): string;
}

export interface ControlPlaneOptions {
  /**
   * Worker vars that override wrangler.toml's, passed as `--var KEY:VALUE` (which also wins over a
   * local .dev.vars), e.g. POLL_WAIT_MS, LEASE_TTL_MS, NODE_GRACE_MS, SWEEP_INTERVAL_MS to shorten
   * the agent protocol's timing.
   */
  vars?: Record<string, string>;
  /** A state folder made by `freshState` and kept by the caller (benchmarks read its files after). */
  state?: string;
  /** A fixed port (a restart on the same URL, for agents to reconnect to); unset: a free one. */
  port?: number;
  /** The address to listen on (default 127.0.0.1; 0.0.0.0 for agents inside a network namespace). */
  ip?: string;
  /** Prefix each line of `output()` with the wall-clock time (the chaos suite's logs). */
  timestamps?: boolean;
}

const wranglerEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  NO_COLOR: "1",
});

/** A fresh local state folder with the D1 migrations applied, as `npm start` applies them. */
export async function freshState(): Promise<string> {
  const state = await mkdtemp(path.join(tmpdir(), "meridian-cp-"));
  await run("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
    env: wranglerEnv(),
  });
  return state;
}

/**
 * Tests and benches sign up many accounts and drive many requests from 127.0.0.1; the edge's
 * limits themselves are tested in test/worker/rate-limits.test.ts (and can be set through `vars`).
 */
export const TEST_RATE_LIMITS = JSON.stringify({
  signupPerAddress: { limit: 1_000_000, windowSeconds: 60 },
  requestsPerKey: { limit: 1_000_000, windowSeconds: 60 },
  authFailuresPerAddress: { limit: 1_000_000, windowSeconds: 60 },
});

/**
 * Starts the real control plane as `npm start` does: migrations applied to a fresh local D1, then
 * `wrangler dev` (workerd, local D1 and Durable Objects) on a free port.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const owned = options.state === undefined;
  const state = options.state ?? (await freshState());
  const port = options.port ?? (await freePort());
  const inspector = await freePort();
  // A key for secrets and signed storage URLs and the regions' signing seed, as `npm start` writes
  // them into .dev.vars.
  const withDefaults = {
    RATE_LIMITS: TEST_RATE_LIMITS,
    SECRETS_KEY: randomBytes(32).toString("hex"),
    REGION_SIGNING_SEED: randomBytes(32).toString("hex"),
    ...options.vars,
  };
  const vars = Object.entries(withDefaults).flatMap(([key, value]) => ["--var", `${key}:${value}`]);
  const child: ChildProcess = spawn(
    "npx",
    [
      "wrangler",
      "dev",
      "--ip",
      options.ip ?? "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
      "--persist-to",
      state,
      "--show-interactive-dev-session=false",
      ...vars,
    ],
    { env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  const watched = watchStack(child, { timestamps: options.timestamps ?? false });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await watched.stop();
    if (owned) await rm(state, { recursive: true, force: true });
  };
  const plane: ControlPlane = { ...watched, url, state, stop };
  if (await untilHealthy(url, child)) return plane;
  await stop();
  throw new Error(`wrangler dev did not answer on ${url}:\n${watched.output()}`);
}
