#!/usr/bin/env node
import { spawn } from "node:child_process";
// `npm start`: the whole network on this machine. Applies the D1 migrations locally, starts
// `wrangler dev` (the Worker, its Durable Objects and D1, all in workerd), waits for it to answer,
// then starts one host agent against it. Ctrl-C stops the agent first, then the control plane.
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";

const port = process.env.MERIDIAN_PORT || "8787";
const dataDir = process.env.MERIDIAN_AGENT_DATA_DIR || ".meridian/agent";
const url = `http://127.0.0.1:${port}`;
const HEALTH_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const baseEnv = { ...process.env, WRANGLER_SEND_METRICS: "false" };

/** Prints each line a child writes, prefixed with its name, to the matching stream of ours. */
function pipeLines(stream, prefix, target) {
  createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
    target.write(`${prefix} ${line}\n`);
  });
}

function log(message) {
  process.stdout.write(`[start] ${message}\n`);
}

/**
 * Starts a child in its own process group: npx, wrangler and workerd (or tsx and the agent) are a
 * tree, and stopping the group stops all of it. It also keeps the terminal's Ctrl-C from reaching
 * the children directly, so this script decides the order they stop in.
 */
function startChild(name, command, args, env) {
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  pipeLines(child.stdout, `[${name}]`, process.stdout);
  pipeLines(child.stderr, `[${name}]`, process.stderr);
  const exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
    child.on("error", (error) => {
      process.stderr.write(`[${name}] could not start ${command}: ${error.message}\n`);
      resolve({ code: 1, signal: null });
    });
  });
  return { name, child, exited, running: () => child.exitCode === null && child.signalCode === null };
}

function signalGroup(proc, signal) {
  if (!proc.running() || proc.child.pid === undefined) return;
  try {
    process.kill(-proc.child.pid, signal);
  } catch (error) {
    if (error.code !== "ESRCH") throw error;
  }
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the child has gone. */
async function stop(proc) {
  if (!proc.running()) return;
  log(`stopping ${proc.name}`);
  signalGroup(proc, "SIGTERM");
  const timer = setTimeout(() => {
    log(`${proc.name} did not stop within ${STOP_GRACE_MS / 1000} s; killing it`);
    signalGroup(proc, "SIGKILL");
  }, STOP_GRACE_MS);
  await proc.exited;
  clearTimeout(timer);
}

function describeExit({ code, signal }) {
  return signal ? `signal ${signal}` : `code ${code}`;
}

async function waitForHealth(wrangler) {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!wrangler.running()) return false;
    try {
      const response = await fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(2_000) });
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
  // `npm link` puts a `meridian` command on the PATH; this form needs nothing installed.
  const cli = "npm run -s cli --";
  process.stdout.write(`
Meridian is running at ${url} (one agent, data in ${dataDir}). Ctrl-C stops everything.

Next, in another terminal:

  # 1. Create an account (either way):
  curl -s -X POST ${url}/v1/accounts -H 'content-type: application/json' -d '{"name":"me"}'
  ${cli} signup --api-url ${url} --name me   # saves the key to ~/.config/meridian

  # Need more credit than the sign-up grant? As the local operator (token in .dev.vars):
  curl -s -X POST ${url}/v1/credits -H "authorization: Bearer $OPERATOR_TOKEN" \\
    -H 'content-type: application/json' -d '{"accountId":"acct_…","amount":"100"}'

  # 2. Build the test image once (needs Docker and busybox-static):
  bash scripts/build-test-images.sh

  # 3. Submit the example job and follow its logs:
  ${cli} jobs submit examples/hello.yaml
  ${cli} jobs logs <job-id> -f
  ${cli} jobs list
  ${cli} nodes

  # or with curl and the key from step 1:
  curl -s -X POST ${url}/v1/jobs -H "authorization: Bearer $KEY" -H 'content-type: application/json' \\
    -d '{"name":"hello","image":"meridian/busybox:test","command":["sh","-c","echo hello"]}'
  curl -s "${url}/v1/jobs/<job-id>/logs?follow=1" -H "authorization: Bearer $KEY"

`);
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
}

async function main() {
  ensureDevVars();
  log("applying D1 migrations (local)");
  const migrate = startChild("wrangler", "npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local"], {
    ...baseEnv,
    // Without a terminal wrangler would otherwise ask before applying.
    CI: "true",
  });
  const migrated = await migrate.exited;
  if (migrated.code !== 0) {
    process.stderr.write(`[start] applying migrations failed (${describeExit(migrated)})\n`);
    process.exit(1);
  }

  log(`starting the control plane on ${url}`);
  const wrangler = startChild(
    "wrangler",
    "npx",
    ["wrangler", "dev", "--port", port, "--ip", "127.0.0.1"],
    baseEnv,
  );
  let agent;
  let stopping = false;

  const shutdown = async (exitCode) => {
    if (stopping) return;
    stopping = true;
    if (agent) await stop(agent);
    await stop(wrangler);
    process.exit(exitCode);
  };
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      void shutdown(0);
    });
  }
  wrangler.exited.then((result) => {
    if (stopping) return;
    process.stderr.write(`[start] wrangler exited unexpectedly (${describeExit(result)}); stopping\n`);
    void shutdown(result.code || 1);
  });

  if (!(await waitForHealth(wrangler))) {
    if (stopping) return;
    process.stderr.write(
      `[start] the control plane did not answer ${url}/v1/health with 200 within ${HEALTH_TIMEOUT_MS / 1000} s; ` +
        "see the [wrangler] lines above (is the port taken? set MERIDIAN_PORT)\n",
    );
    await shutdown(1);
    return;
  }
  if (stopping) return;
  log("control plane is up");

  log(`starting a host agent (data in ${dataDir})`);
  agent = startChild(
    "agent",
    "npx",
    ["tsx", "src/agent/main.ts", "--control-plane", url, "--data-dir", dataDir],
    baseEnv,
  );
  agent.exited.then((result) => {
    if (stopping) return;
    // The control plane stays useful without an agent (accounts, queued jobs), so it keeps running.
    process.stderr.write(
      `[start] the agent exited (${describeExit(result)}); the control plane keeps running. ` +
        `Start another with: npm run agent -- --control-plane ${url} --data-dir ${dataDir}\n`,
    );
  });
  printNextSteps();
}

await main();
