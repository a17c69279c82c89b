import type { PollRequest, PollResponse } from "../shared/agent-protocol.js";
import { MeridianError } from "../shared/errors.js";
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
  save: () => Promise<unknown>;
}

/**
 * One agent poll under `token` (its request's nonce): its heartbeat, then the work for its node —
 * at once when there is some, else held until there is (a wake) or the wait runs out. The held
 * poll is itself a heartbeat, taken again when it answers. A poll whose connection dropped while
 * held answers nothing (no one is listening); a poll replaced by a newer one of the same node is
 * refused: one agent polls per node identity.
 */
export async function answerPoll(
  parts: PollParts,
  nodeId: string,
  token: string,
  request: PollRequest,
): Promise<PollResponse> {
  const { state, waiters } = parts;
  const now = Date.now();
  // A newer poll of the same node wins: an agent that reconnected after its old connection died
  // silently must not be locked out by the ghost of that connection.
  waiters.supersede(nodeId, token);
  state.pollOpened(nodeId, token, now);
  const stop = state.heartbeat(nodeId, request.acceptingWork, request.running, request.rttMs, now);
  let challenges = parts.challengesFor(nodeId, now);
  await parts.save();
  state.pollHeld(nodeId, token);
  const taken = new Set(request.running.map((r) => r.attemptId));
  let work = state.workFor(nodeId, taken, now);
  const empty = (): boolean =>
    work.assignments.length === 0 && work.stop.length === 0 && stop.length === 0 && challenges.length === 0;
  if (empty()) {
    const end = await waiters.wait(
      nodeId,
      token,
      Math.min(request.waitMs ?? parts.pollWaitMs, parts.pollWaitMs),
    );
    if (end === "dropped") return { assignments: [], stop: [], challenges: [], nextPollDelayMs: 0 };
    if (end === "superseded") {
      state.pollAnswered(nodeId, token, Date.now());
      throw new MeridianError(
        409,
        "second_poller",
        `another connection is polling for node ${nodeId}; only one agent may run per node identity`,
      );
    }
    const later = Date.now();
    for (const order of state.heartbeat(nodeId, request.acceptingWork, request.running, undefined, later))
      if (!stop.some((s) => s.attemptId === order.attemptId)) stop.push(order);
    work = state.workFor(nodeId, taken, later);
    challenges = parts.challengesFor(nodeId, later);
    if (challenges.length > 0) await parts.save();
  }
  state.pollAnswered(nodeId, token, Date.now());
  return {
    assignments: work.assignments,
    stop: [...stop, ...work.stop],
    challenges,
    nextPollDelayMs: empty() ? jittered(state.pacing().pauseMs) : 0,
  };
}
