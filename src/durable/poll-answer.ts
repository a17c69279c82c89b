import type { PollRequest, PollResponse } from "../shared/agent-protocol.js";
import type { VerificationChallenge } from "../shared/verification/messages.js";
import { jittered } from "./poll-pacing.js";
import type { PollWaiters } from "./poll-waiters.js";
import type { RegionState } from "./region-state.js";

export interface PollParts {
  state: RegionState;
  waiters: PollWaiters;
  pollWaitMs: number;
  /** The challenges waiting for the node now. */
  challengesFor: (nodeId: string, now: number) => VerificationChallenge[];
  /** Writes what the steps so far staged (the Region object's save). */
  save: () => Promise<void>;
}

/**
 * One agent poll: its heartbeat, then the work for its node — at once when there is some, else
 * held until there is (a wake) or the wait runs out. The held poll is itself a heartbeat, taken
 * again when it answers.
 */
export async function answerPoll(
  parts: PollParts,
  nodeId: string,
  request: PollRequest,
): Promise<PollResponse> {
  const { state, waiters } = parts;
  const now = Date.now();
  const stop = state.heartbeat(nodeId, request.acceptingWork, request.running, request.rttMs, now);
  let challenges = parts.challengesFor(nodeId, now);
  await parts.save();
  const taken = new Set(request.running.map((r) => r.attemptId));
  let work = state.workFor(nodeId, taken, now);
  const empty = (): boolean =>
    work.assignments.length === 0 && work.stop.length === 0 && stop.length === 0 && challenges.length === 0;
  if (empty()) {
    await waiters.wait(nodeId, Math.min(request.waitMs ?? parts.pollWaitMs, parts.pollWaitMs));
    const later = Date.now();
    for (const order of state.heartbeat(nodeId, request.acceptingWork, request.running, undefined, later))
      if (!stop.some((s) => s.attemptId === order.attemptId)) stop.push(order);
    work = state.workFor(nodeId, taken, later);
    challenges = parts.challengesFor(nodeId, later);
    if (challenges.length > 0) await parts.save();
  }
  return {
    assignments: work.assignments,
    stop: [...stop, ...work.stop],
    challenges,
    nextPollDelayMs: empty() ? jittered(state.pacing().pauseMs) : 0,
  };
}
