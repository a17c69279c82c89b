import type { ChildProcess } from "node:child_process";
import { lineStamper } from "./line-stamper.js";

/**
 * A local control plane's process (wrangler dev, or bench/support/direct-stack.ts's workerd), as
 * the tests and benches drive it: its log, the requests it logged as answered, and how to stop it.
 * The child runs detached, as the leader of a process group of its own, so the signals reach every
 * process under it (wrangler's workerd, npx's tsx).
 */
export interface StackProcess {
  /** Requests the process logged as answered whose path starts with `prefix` (a server-side count). */
  served(prefix: string): number;
  /** What it printed, for failure messages. */
  output(): string;
  /** SIGTERM to its group, SIGKILL after 5 s if it is still there. */
  stop(): Promise<void>;
  /** SIGKILL to its group, as a crash would. */
  kill(): Promise<void>;
}

/** Keeps the log (the last 100–200 kB) and the answered-request counts of `child`. */
export function watchStack(child: ChildProcess, options: { timestamps?: boolean } = {}): StackProcess {
  let log = "";
  let partial = "";
  const served = new Map<string, number>();
  const stamp = options.timestamps ? lineStamper() : (text: string) => text;
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString();
    const logged = stamp(text);
    log = log.length < 200_000 ? log + logged : log.slice(-100_000) + logged;
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
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(-child.pid, sig);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid, "SIGKILL");
  };
  return {
    served: (prefix) => {
      let n = 0;
      for (const [p, count] of served) if (p.startsWith(prefix)) n += count;
      return n;
    },
    output: () => log,
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
  };
}

/** Waits until `url`'s /v1/health answers 200 (true), or `child` exits or 90 s pass (false). */
export async function untilHealthy(url: string, child: ChildProcess, timeoutMs = 90_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${url}/v1/health`)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}
