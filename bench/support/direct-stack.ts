/**
 * The local stack without `wrangler dev`'s proxy: the same Worker (the bundle `wrangler deploy`
 * would upload, `--dry-run --outdir`), the same bindings (D1, Durable Objects, R2, vars and assets
 * from wrangler.toml, through wrangler's own `unstable_getMiniflareWorkerOptions`), the same
 * persist layout and D1 migrations (`freshState`), on workerd through Miniflare in a process of its
 * own — with nothing in front of the Worker's socket.
 *
 * `wrangler dev` 4.86 runs two Miniflare instances, each its own workerd process: a proxy holding
 * `ProxyWorker` (templates/startDevWorker/ProxyWorker.ts: every request goes through one Durable
 * Object there, is re-headered and re-fetched to the user worker's socket), and the user worker's,
 * built by `buildMiniflareOptions` with `logRequests: false`. This harness is that second instance
 * alone, with the same options, so it measures what a caller pays without the first; a deployed
 * Worker has no such proxy (`wrangler deploy` uploads the bundle only).
 *
 * Same interface as bench/support/wrangler.ts's `startStack`; agents connect to `url` as to
 * `wrangler dev`. `served()` needs `logRequests: true` (miniflare's own request log, which the
 * user worker under wrangler dev does not have: it costs a loopback call per request).
 *
 * Run as a script (`tsx bench/support/direct-stack.ts <options JSON>`) it is that process.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort, freshState, TEST_RATE_LIMITS } from "../../test/support/control-plane.js";
import { untilHealthy, watchStack } from "../../test/support/stack-process.js";
import type { LocalStack } from "./wrangler.js";

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface DirectStackOptions {
  /** Worker vars over wrangler.toml's (as `startStack`'s). */
  vars?: Record<string, string>;
  /** A fixed port (a restart on the same URL); unset: a free one. */
  port?: number;
  /** miniflare's request log, for `served()` (off by default, as under wrangler dev's user worker). */
  logRequests?: boolean;
}

interface ChildOptions {
  bundle: string;
  state: string;
  port: number;
  vars: Record<string, string>;
  logRequests: boolean;
}

/** Bundles the Worker exactly as `wrangler deploy` would (its [build] step included) into `outdir`. */
async function bundle(outdir: string): Promise<string> {
  await run("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outdir], {
    cwd: ROOT,
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    maxBuffer: 16 * 1024 * 1024,
  });
  return path.join(outdir, "index.js");
}

/** Starts the direct stack on a state folder the caller keeps; `dispose` stops it and removes the folder. */
export async function startDirectStack(state: string, options: DirectStackOptions = {}): Promise<LocalStack> {
  const out = await mkdtemp(path.join(tmpdir(), "meridian-direct-"));
  const childOptions: ChildOptions = {
    bundle: await bundle(out),
    state,
    port: options.port ?? (await freePort()),
    vars: { RATE_LIMITS: TEST_RATE_LIMITS, SECRETS_KEY: randomBytes(32).toString("hex"), ...options.vars },
    logRequests: options.logRequests ?? false,
  };
  const child: ChildProcess = spawn(
    "npx",
    ["tsx", fileURLToPath(import.meta.url), JSON.stringify(childOptions)],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, NO_COLOR: "1" } },
  );
  const watched = watchStack(child);
  const stop = async (): Promise<void> => {
    await watched.stop();
    await rm(out, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${childOptions.port}`;
  const stack: LocalStack = {
    ...watched,
    url,
    state,
    served: (prefix) => {
      if (!childOptions.logRequests)
        throw new Error("served() needs startDirectStack(…, { logRequests: true })");
      return watched.served(prefix);
    },
    stop,
    dispose: async () => {
      await stop();
      await rm(state, { recursive: true, force: true });
    },
  };
  if (await untilHealthy(url, child)) return stack;
  await stack.dispose();
  throw new Error(`the direct stack did not answer on ${url}:\n${watched.output()}`);
}

/** `startStack`'s counterpart: a fresh state folder with the migrations applied, then the direct stack. */
export async function startFreshDirectStack(options: DirectStackOptions = {}): Promise<LocalStack> {
  return startDirectStack(await freshState(), options);
}

/** The stack's own process: wrangler.toml's Miniflare options for the user worker, on the bundle. */
async function serve(options: ChildOptions): Promise<void> {
  const { Log, LogLevel, Miniflare } = await import("miniflare");
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, "wrangler.toml"));
  const bindings = { ...(workerOptions.bindings ?? {}), ...options.vars };
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: options.port,
    // As wrangler dev's user-worker instance (buildMiniflareOptions): its persist root and flags.
    defaultPersistRoot: path.join(options.state, "v3"),
    unsafeTriggerHandlers: true,
    logRequests: options.logRequests,
    log: new Log(LogLevel.INFO),
    workers: [
      {
        ...workerOptions,
        name: "meridian",
        bindings,
        // The bundle's one module, named: miniflare's import walk refuses its computed imports.
        modules: [{ type: "ESModule", path: options.bundle }],
        modulesRoot: path.dirname(options.bundle),
      },
    ],
  });
  await mf.ready;
  process.stdout.write(`direct stack ready on 127.0.0.1:${options.port}\n`);
  const quit = (): void => {
    void mf.dispose().finally(() => process.exit(0));
  };
  process.once("SIGTERM", quit);
  process.once("SIGINT", quit);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = process.argv[2];
  if (!arg) throw new Error("usage: tsx bench/support/direct-stack.ts <options JSON>");
  await serve(JSON.parse(arg) as ChildOptions);
}
