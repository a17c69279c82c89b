#!/usr/bin/env node
// `node scripts/leash.mjs <command> [args…]`: runs the command as its child, in the process group
// the leash leads, and stops it when the leash's parent dies (`npm start` SIGKILLed, its terminal
// closed) — for commands that do not watch their parent themselves, like wrangler dev.
//
// Lines "after <pid>" on stdin name processes that must end first (the agent drains through the
// control plane, so wrangler outlives it). A SIGTERM or SIGINT to the group reaches the child as
// well; the leash then just waits for it and exits as it did.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { isAlive, watchParent } from "./supervise.mjs";

const STOP_GRACE_MS = 10_000;
/** The longest a process named by "after" may take to drain before the command is stopped anyway. */
const AFTER_LIMIT_MS = 45_000;

const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  process.stderr.write("usage: leash.mjs <command> [args…]\n");
  process.exit(2);
}

const after = new Set();
createInterface({ input: process.stdin }).on("line", (line) => {
  const match = /^after (\d+)$/.exec(line.trim());
  if (match) after.add(Number(match[1]));
});
// EOF on stdin only says the parent closed it; the parent watch decides.
process.stdin.on("error", () => {});

// The child's output passes through us rather than straight to our parent: once the parent is
// gone, writes to its pipe fail (EPIPE), and that must not take the child down mid-drain.
const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
forward(child.stdout, process.stdout);
forward(child.stderr, process.stderr);
child.on("error", (error) => {
  process.stderr.write(`could not start ${command}: ${error.message}\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  process.exit(code ?? (signal === null ? 1 : 128 + signalNumber(signal)));
});

// The group's signals reach the child directly; the leash only outlives it to report its exit.
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => {});

watchParent(async (parent) => {
  process.stderr.write(`[leash] parent ${parent} is gone; stopping ${command}\n`);
  const deadline = Date.now() + AFTER_LIMIT_MS;
  while ([...after].some(isAlive) && Date.now() < deadline) await sleep(200);
  // The whole group, so what the command started (workerd under wrangler) goes too.
  signalOwnGroup("SIGTERM");
  await sleep(STOP_GRACE_MS);
  signalOwnGroup("SIGKILL");
});

function forward(from, to) {
  let open = true;
  to.on("error", () => {
    open = false;
  });
  from.on("data", (chunk) => {
    if (open) to.write(chunk);
  });
}

function signalOwnGroup(signal) {
  try {
    process.kill(-process.pid, signal);
  } catch {
    // Not a group leader (started without `detached`): the child alone, then.
    child.kill(signal);
  }
}

function signalNumber(signal) {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal] ?? 0;
}
