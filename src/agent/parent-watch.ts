/**
 * Whether this agent should stop when the process that started it dies: under `npm start` (which
 * sets MERIDIAN_WATCH_PARENT=1) or an npm script, an orphaned agent would otherwise keep running,
 * holding its node and its port-less long-poll, with nothing left to stop it. An agent started by
 * a service manager or `nohup` sets neither and is left alone.
 */
export function shouldWatchParent(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.MERIDIAN_WATCH_PARENT !== undefined) return env.MERIDIAN_WATCH_PARENT === "1";
  return env.npm_lifecycle_event !== undefined;
}

/**
 * Calls `onGone` once when the parent is no longer the one this process started under (it died,
 * and init or a subreaper adopted us). Polled: no signal announces a parent's death.
 */
export function watchParent(onGone: (parentPid: number) => void, intervalMs = 500): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone(parent);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
