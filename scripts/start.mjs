#!/usr/bin/env node
// `npm start`: the whole network on this machine. Applies the D1 migrations locally, starts
// `wrangler dev` (the Worker, its Durable Objects and D1, all in workerd), waits for it to answer,
// then starts one host agent against it. Ctrl-C stops the agent first (it drains: its attempts are
// reported stopped, so their jobs are placed again at once), then the control plane. If this
// process dies without stopping them, they stop too: the agent and wrangler's leash watch it.
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { applyMigrations, ensureDemoImage, nextSteps } from "./front-door.mjs";
import { signalGroup, startChild, stopChild, watchParent } from "./supervise.mjs";
import { wranglerOutputFilter } from "./wrangler-output.mjs";

const port = process.env.MERIDIAN_PORT || "8787";
const dataDir = process.env.MERIDIAN_AGENT_DATA_DIR || ".meridian/agent";
const url = `http://127.0.0.1:${port}`;
const HEALTH_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
/** The agent stops its containers (5 s grace each, in parallel) and reports them before it exits. */
const AGENT_STOP_GRACE_MS = 30_000;
/** Where wrangler keeps the local D1 and Durable Objects; unset: its default, .wrangler/state. */
const stateDir = process.env.MERIDIAN_STATE_DIR;
const persist = stateDir ? ["--persist-to", stateDir] : [];
const baseEnv = { ...process.env, WRANGLER_SEND_METRICS: "false" };
/**
 * wrangler dev without its banner, and without fetching Cloudflare's sample `request.cf` from the
 * internet (a stack trace where that is unreachable); the built-in placeholder is the same data.
 */
const wranglerEnv = { ...baseEnv, WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
const verbose = process.env.MERIDIAN_VERBOSE === "1";

function log(message) {
  process.stdout.write(`[start] ${message}\n`);
}

function describeExit({ code, signal }) {
  return signal ? `signal ${signal}` : `code ${code}`;
}

async function waitForHealth(wrangler) {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!wrangler.running()) return false;
    try {
      // The first request waits for workerd to load the Worker (seconds on a slow machine); giving up
      // sooner only makes workerd log the hang-up.
      const response = await fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(15_000) });
      await response.body?.cancel();
      if (response.status === 200) return true;
    } catch {
      // Not listening yet.
    }
    await sleep(500);
  }
  return false;
}

function printNextSteps() {
  process.stdout.write(nextSteps(url, dataDir));
}

/**
 * Local operator token for the operator routes (granting credit, lifting a quarantine): wrangler dev
 * reads .dev.vars (git-ignored); one is made on first start and kept.
 */
function ensureDevVars() {
  if (!existsSync(".dev.vars")) {
    writeFileSync(".dev.vars", `OPERATOR_TOKEN=${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });
    log("wrote .dev.vars with a local OPERATOR_TOKEN (for POST /v1/credits)");
  }
  // The key that seals secrets and signs storage URLs (a Worker secret when deployed).
  if (!readFileSync(".dev.vars", "utf8").includes("SECRETS_KEY=")) {
    appendFileSync(".dev.vars", `SECRETS_KEY=${randomBytes(32).toString("hex")}\n`);
    log("added a local SECRETS_KEY to .dev.vars (seals secrets, signs storage URLs)");
  }
  // The seed each region's receipt-countersigning key is derived from (a Worker secret when deployed).
  if (!readFileSync(".dev.vars", "utf8").includes("REGION_SIGNING_SEED=")) {
    appendFileSync(".dev.vars", `REGION_SIGNING_SEED=${randomBytes(32).toString("hex")}\n`);
    log(
      "added a local REGION_SIGNING_SEED to .dev.vars (regions countersign usage with keys derived from it)",
    );
  }
}

/**
 * Stops once, in order: the agent first (it still needs the control plane to report its attempts
 * stopped), then wrangler, then the local chain. A second Ctrl-C kills them all at once.
 */
function lifecycle(getChildren) {
  let stopping = false;
  const shutdown = async (exitCode) => {
    if (stopping) return;
    stopping = true;
    const { agent, wrangler, chain } = getChildren();
    if (agent) await stopChild(agent, { graceMs: AGENT_STOP_GRACE_MS, log });
    if (wrangler) await stopChild(wrangler, { graceMs: STOP_GRACE_MS, log });
    if (chain) await stopChild(chain, { graceMs: STOP_GRACE_MS, log });
    process.exit(exitCode);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      if (!stopping) {
        void shutdown(0);
        return;
      }
      log(`${signal} again: killing everything now`);
      for (const proc of Object.values(getChildren())) if (proc) signalGroup(proc, "SIGKILL");
    });
  }
  // `npm start` SIGKILLed: we are orphaned, and stop what we started as if Ctrl-C had been pressed.
  watchParent(() => {
    log("the parent process is gone; stopping");
    void shutdown(1);
  });
  // A closed terminal makes every write fail; that must not crash us before the children stop.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
  return { shutdown, stopping: () => stopping };
}

const chainPort = process.env.MERIDIAN_CHAIN_PORT || "8899";
const chainDir = process.env.MERIDIAN_CHAIN_DIR || ".meridian/chain";

/**
 * The local Solana JSON-RPC server (src/local-chain) on :8899, the port Solana's test validator uses;
 * its state lives in .meridian/chain and survives restarts. Once it answers, the Worker is told where
 * it is and which mints and treasury it created (.dev.vars, see ensureChainVars).
 */
async function startLocalChain() {
  log(`starting the local Solana chain on http://127.0.0.1:${chainPort} (state in ${chainDir})`);
  const chain = startChild(
    "chain",
    "npx",
    ["tsx", "src/local-chain/main.ts"],
    { ...baseEnv, MERIDIAN_CHAIN_PORT: chainPort, MERIDIAN_CHAIN_DIR: chainDir },
    // Leashed like wrangler: a killed `npm start` must not leave it holding its port.
    { leash: true },
  );
  // Until main() installs its shutdown handlers, Ctrl-C must still stop the chain's process group.
  const early = () => {
    signalGroup(chain, "SIGTERM");
    process.exit(130);
  };
  process.once("SIGINT", early);
  process.once("SIGTERM", early);
  const ready = () => {
    process.off("SIGINT", early);
    process.off("SIGTERM", early);
  };
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline && chain.running()) {
    try {
      const response = await fetch(`http://127.0.0.1:${chainPort}/health`, {
        signal: AbortSignal.timeout(2_000),
      });
      await response.body?.cancel();
      if (response.status === 200) {
        ensureChainVars();
        ready();
        return chain;
      }
    } catch {
      // Not listening yet.
    }
    await sleep(300);
  }
  process.stderr.write(
    "[start] the local chain did not start; see the [chain] lines above (is port 8899 taken? set MERIDIAN_CHAIN_PORT)\n",
  );
  ready();
  return chain;
}

/** Writes the chain's URL, mints, treasury key and cluster into .dev.vars, replacing earlier values. */
function ensureChainVars() {
  const addressesFile = `${chainDir}/addresses.json`;
  if (!existsSync(addressesFile)) return;
  const addresses = JSON.parse(readFileSync(addressesFile, "utf8"));
  const treasury = JSON.parse(readFileSync(`${chainDir}/keys/treasury.json`, "utf8"));
  const vars = {
    SOLANA_CLUSTER: "local",
    SOLANA_RPC_URL: `http://127.0.0.1:${chainPort}`,
    USDC_MINT: addresses.usdcMint,
    MRD_MINT: addresses.mrdMint,
    STAKE_VAULT: addresses.stakeVault,
    BURN_VAULT: addresses.burnVault,
    TREASURY_SECRET_KEY: Buffer.from(treasury).toString("base64"),
  };
  const kept = (existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : "")
    .split("\n")
    .filter((line) => line.length > 0 && !Object.hasOwn(vars, line.split("=")[0]));
  const lines = [...kept, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)];
  writeFileSync(".dev.vars", `${lines.join("\n")}\n`, { mode: 0o600 });
}

async function main() {
  ensureDevVars();
  if (!(await applyMigrations(persist, baseEnv))) process.exit(1);
  const chain = await startLocalChain();

  log(
    `starting the control plane on ${url}${verbose ? "" : " (MERIDIAN_VERBOSE=1 shows every wrangler line)"}`,
  );
  const wranglerLines = wranglerOutputFilter({ verbose });
  const wrangler = startChild(
    "wrangler",
    "npx",
    ["wrangler", "dev", "--port", port, "--ip", "127.0.0.1", ...persist],
    wranglerEnv,
    { leash: true, keep: (line) => wranglerLines.keep(line) },
  );
  let agent;
  const { shutdown, stopping } = lifecycle(() => ({ agent, wrangler, chain }));
  wrangler.exited.then((result) => {
    if (stopping()) return;
    process.stderr.write(`[start] wrangler exited unexpectedly (${describeExit(result)}); stopping\n`);
    void shutdown(result.code || 1);
  });

  if (!(await waitForHealth(wrangler))) {
    if (stopping()) return;
    process.stderr.write(
      `[start] the control plane did not answer ${url}/v1/health with 200 within ${HEALTH_TIMEOUT_MS / 1000} s; ` +
        "see the [wrangler] lines above (is the port taken? set MERIDIAN_PORT)\n",
    );
    await shutdown(1);
    return;
  }
  if (stopping()) return;
  log("control plane is up");

  ensureDemoImage();
  log(`starting a host agent (data in ${dataDir})`);
  agent = startAgentChild();
  // Should we die, wrangler's leash lets the agent drain through it before stopping it.
  wrangler.after(agent.pid);
  agent.exited.then((result) => {
    if (stopping()) return;
    // The control plane stays useful without an agent (accounts, queued jobs), so it keeps running.
    process.stderr.write(
      `[start] the agent exited (${describeExit(result)}); the control plane keeps running. ` +
        `Start another with: npm run agent -- --control-plane ${url} --data-dir ${dataDir}\n`,
    );
  });
  printNextSteps();
}

/**
 * The agent runs as one node process (no npx or tsx launcher between), so the signals we send
 * reach it, and it watches us: it drains and exits if we die.
 */
function startAgentChild() {
  return startChild(
    "agent",
    process.execPath,
    ["bin/meridian-agent.mjs", "start", "--control-plane", url, "--data-dir", dataDir],
    { ...baseEnv, MERIDIAN_WATCH_PARENT: "1" },
  );
}

await main();
