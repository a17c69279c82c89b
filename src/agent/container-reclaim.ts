import type { Assignment, ReclaimResponse } from "../shared/agent-protocol.js";
import type { AgentLog } from "./agent-log.js";
import { errorMessage } from "./agent-log.js";
import type { Adoption } from "./attempt-runner.js";
import type { ContainerRuntime, FoundContainer } from "./container-runtime.js";
import type { ControlPlaneClient } from "./control-plane-client.js";

export interface ReclaimDeps {
  runtime: ContainerRuntime;
  client: ControlPlaneClient;
  log: AgentLog;
  signal: AbortSignal;
  /** How long one reclaim request may take before it is given up (and retried). */
  timeoutMs: number;
  /** Attempts a live runner of this process holds: their containers are left alone. */
  held?: (attemptId: string) => boolean;
}

/**
 * After a restart, or once the engine answers again after it stopped: finds this node's attempt containers (by their labels), asks the control plane
 * which are still its own, hands those to `takeUp` and removes the rest. A control plane that
 * cannot say (an older one, or unreachable) gets the old behaviour: every container left behind
 * is removed.
 */
export async function reclaimContainers(
  { runtime, client, log, signal, timeoutMs, held }: ReclaimDeps,
  nodeId: string,
  takeUp: (assignment: Assignment, adopt: Adoption) => void,
): Promise<void> {
  let found: FoundContainer[];
  try {
    found = (await runtime.findAttempts(nodeId)).filter((f) => !held?.(f.attemptId));
  } catch (error) {
    log.warn(`could not list the containers of an earlier run: ${errorMessage(error)}`);
    return;
  }
  if (found.length === 0) return;
  let answer: ReclaimResponse;
  try {
    answer = await client.reclaim(
      { attempts: found.map(({ attemptId, running }) => ({ attemptId, running })) },
      { signal, retries: 3, timeoutMs },
    );
  } catch (error) {
    log.warn(
      `could not ask the control plane about ${found.length} container(s) of an earlier run: ${errorMessage(error)}`,
    );
    // With live runners (the engine came back), only the containers found, never theirs.
    const removed = held
      ? (
          await Promise.all(
            found.map((f) =>
              runtime.removeContainer(f).then(
                () => 1,
                () => 0,
              ),
            ),
          )
        ).reduce((a: number, b: number) => a + b, 0)
      : await runtime.removeLeftovers(nodeId).catch(() => 0);
    if (removed > 0) log.info(`removed ${removed} container(s) left by an earlier run of this node`);
    return;
  }
  const kept = new Set<string>();
  for (const { assignment, started, logOffsets } of answer.keep) {
    const container = found.find((f) => f.attemptId === assignment.attemptId);
    if (container === undefined) continue;
    kept.add(container.id);
    log.info(
      `job ${assignment.jobId}: attempt ${assignment.attemptId}: re-attached to container ${container.id.slice(0, 12)} (${container.running ? "running" : "exited while the agent was away"})`,
    );
    takeUp(assignment, { found: container, started, from: logOffsets });
  }
  const gone = found.filter((f) => !kept.has(f.id));
  await Promise.all(gone.map((f) => runtime.removeContainer(f).catch(() => undefined)));
  log.info(
    `re-attached to ${kept.size} container(s) of an earlier run of this node; removed ${gone.length} the control plane no longer counts as its own`,
  );
}
