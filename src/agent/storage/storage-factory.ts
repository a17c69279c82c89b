import { join } from "node:path";
import type { Assignment } from "../../shared/agent-protocol.js";
import type { AgentLog } from "../agent-log.js";
import type { Clock } from "../clock.js";
import type { ControlPlaneClient } from "../control-plane-client.js";
import { AttemptStorage } from "./attempt-storage.js";
import { InputCache } from "./input-cache.js";
import { storageApi } from "./storage-api.js";

const GIB = 1024 ** 3;
/** The seed's providers keep 100 GB for data and models. */
export const DEFAULT_INPUT_CACHE_BYTES = 100 * GIB;

/**
 * How much the input cache may hold: MERIDIAN_INPUT_CACHE_GB when set, else 100 GB, and never
 * more than half the disk that was free when the agent started.
 */
export function inputCacheBytes(diskFreeMib: number, env: NodeJS.ProcessEnv = process.env): number {
  const configured = Number(env.MERIDIAN_INPUT_CACHE_GB);
  const wanted = Number.isFinite(configured) && configured > 0 ? configured * GIB : DEFAULT_INPUT_CACHE_BYTES;
  return Math.max(0, Math.min(wanted, (diskFreeMib * 1024 * 1024) / 2));
}

/** Where attempts' data folders and the input cache live under the agent's data folder. */
function attemptsDir(dataDir: string): string {
  return join(dataDir, "attempts");
}

function cacheDir(dataDir: string): string {
  return join(dataDir, "cache", "inputs");
}

/** The folders containers may bind from: nothing of the host but these. */
export function storageMountRoots(dataDir: string): string[] {
  return [attemptsDir(dataDir), cacheDir(dataDir)];
}

/** Makes the storage part of each attempt that has one (`assignment.storage`), all sharing one cache. */
export function attemptStorageFactory(options: {
  dataDir: string;
  client: ControlPlaneClient;
  clock: Clock;
  log: AgentLog;
  cacheBytes: number;
}): (assignment: Assignment, progress: (line: string) => void) => AttemptStorage | undefined {
  const cache = new InputCache({
    dir: join(options.dataDir, "cache", "inputs"),
    maxBytes: options.cacheBytes,
    log: options.log,
  });
  return (assignment, progress) =>
    assignment.storage
      ? new AttemptStorage({
          api: storageApi(options.client, assignment.attemptId, assignment.fencing),
          workDir: join(attemptsDir(options.dataDir), assignment.attemptId),
          cache,
          clock: options.clock,
          log: options.log,
          progress,
          describe: `job ${assignment.jobId} attempt ${assignment.attemptId}`,
        })
      : undefined;
}
