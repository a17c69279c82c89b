// Process supervision for `npm start`: children in process groups of their own, stopped in order
// (SIGTERM, then SIGKILL after a grace period), and the watch on our own parent that makes a killed
// `npm start` (SIGKILL, a closed terminal) stop what it started instead of leaving it running.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const LEASH = fileURLToPath(new URL("./leash.mjs", import.meta.url));

/** How often a process looks whether its parent is still the one that started it. */
export const PARENT_CHECK_MS = 500;

/**
 * Prints each line a child writes, prefixed with its name, to the matching stream of ours; `keep`
 * (when given) says which lines are worth printing.
 */
function pipeLines(stream, prefix, target, keep) {
  createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
    if (keep === undefined || keep(line)) target.write(`${prefix} ${line}\n`);
  });
}

/**
 * Starts a child in its own process group: npx, wrangler and workerd are a tree, and stopping the
 * group stops all of it. It also keeps the terminal's Ctrl-C (and a closed terminal's SIGHUP) from
 * reaching the children directly, so the supervisor decides the order they stop in.
 *
 * With `leash`, the command runs under scripts/leash.mjs, which stops it when this process dies
 * without stopping it (for commands that cannot watch their parent themselves, like wrangler);
 * `proc.after(pid)` then tells the leash to wait for that process to end first.
 *
 * @param {string} name
 * @param {string} command
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 * @param {{ leash?: boolean, output?: { stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream }, keep?: (line: string) => boolean }} [options]
 */
export function startChild(name, command, args, env, options = {}) {
  const leashed = options.leash === true;
  const output = options.output ?? { stdout: process.stdout, stderr: process.stderr };
  const child = leashed
    ? spawn(process.execPath, [LEASH, command, ...args], {
        env,
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
      })
    : spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  pipeLines(child.stdout, `[${name}]`, output.stdout, options.keep);
  pipeLines(child.stderr, `[${name}]`, output.stderr, options.keep);
  // The leash's stdin is how it hears which process to outlive; a broken pipe is its own news.
  child.stdin?.on("error", () => {});
  const exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
    child.on("error", (error) => {
      output.stderr.write(`[${name}] could not start ${command}: ${error.message}\n`);
      resolve({ code: 1, signal: null });
    });
  });
  return {
    name,
    child,
    exited,
    pid: child.pid,
    running: () => child.exitCode === null && child.signalCode === null,
    /** Leashed only: if we die, the leash waits for `pid` to end before it stops this child. */
    after: (pid) => {
      if (leashed && child.stdin?.writable) child.stdin.write(`after ${pid}\n`);
    },
  };
}

/** Signals the child's whole process group; a group already gone is fine. */
export function signalGroup(proc, signal) {
  if (proc.child.pid === undefined) return;
  try {
    process.kill(-proc.child.pid, signal);
  } catch (error) {
    if (error.code !== "ESRCH") throw error;
  }
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves once the child and every process of its group
 * have gone (workerd may outlive wrangler's own exit by a moment).
 * @param {ReturnType<typeof startChild>} proc
 * @param {{ graceMs: number, log?: (message: string) => void }} options
 */
export async function stopChild(proc, { graceMs, log = () => {} }) {
  if (proc.running()) {
    log(`stopping ${proc.name}`);
    signalGroup(proc, "SIGTERM");
  }
  const deadline = Date.now() + graceMs;
  const result = await Promise.race([proc.exited, sleep(graceMs).then(() => undefined)]);
  while (groupAlive(proc.pid) && Date.now() < deadline) await sleep(100);
  if (result === undefined || groupAlive(proc.pid)) {
    log(`${proc.name} did not stop within ${graceMs / 1000} s; killing it`);
    killGroup(proc.pid);
  }
  return proc.exited;
}

/** Whether any process of the group this pid leads still exists. */
function groupAlive(pid) {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

function killGroup(pid) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/**
 * Calls `onGone` once when this process's parent is no longer the one that started it (it died:
 * the orphan was adopted by init or a subreaper). Polled, since no signal announces it.
 * @returns {() => void} stops watching
 */
export function watchParent(onGone, intervalMs = PARENT_CHECK_MS) {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone(parent);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Whether a process with this pid exists (EPERM: it exists, and is someone else's). */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}
