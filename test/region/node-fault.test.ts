import { describe, expect, it } from "vitest";
import { NODE_FAULT_AVOID_MS } from "../../src/durable/job-retry.js";
import type { AttemptRecord, JobRecord } from "../../src/durable/region-records.js";
import type { RegionState } from "../../src/durable/region-state.js";
import { explainJob } from "../../src/durable/region-views.js";
import type { AttemptReport } from "../../src/shared/agent-protocol.js";
import { FakeClock, gpuJob, gpuNode, poll, RecordingStanding, region } from "./region-support.js";

type Exit = AttemptReport & { type: "exited" };
const engineDown: Omit<Exit, "fencing" | "at"> = {
  type: "exited",
  exitCode: null,
  reason: "error",
  errorKind: "runtime",
  message: "the node's container engine stopped while the container ran",
};

function placed(state: RegionState, jobId: string): { job: JobRecord; member: AttemptRecord } {
  const job = state.jobs.get(jobId);
  const member = job?.members[0];
  if (!job || !member) throw new Error(`${jobId} is not placed: ${job?.status}`);
  return { job, member };
}

/** The placed attempt starts, then ends with `exit`, the effects of the whole step returned. */
function runThenExit(
  state: RegionState,
  clock: FakeClock,
  jobId: string,
  exit: Omit<Exit, "fencing" | "at">,
) {
  const { job, member } = placed(state, jobId);
  state.report(
    job,
    member,
    { type: "started", fencing: member.fencing, at: clock.now(), containerId: "c" },
    clock.advance(100),
  );
  state.drainEffects();
  state.report(job, member, { ...exit, fencing: member.fencing, at: clock.now() }, clock.advance(5_000));
  return { member, effects: state.drainEffects() };
}

function settlementsOf(effects: ReturnType<RegionState["drainEffects"]>) {
  return effects.outbox.flatMap((e) => (e.kind === "settle" ? [e.settlement] : []));
}

describe("an attempt its node failed by its own fault", () => {
  it("is placed on another node at once, charged nothing, and the job then succeeds there", () => {
    const clock = new FakeClock();
    const standing = new RecordingStanding();
    const state = region(clock, standing);
    state.registerNode(gpuNode("node_a", 500_000), clock.now());
    state.registerNode(gpuNode("node_b", 2_000_000), clock.now());
    state.submit(gpuJob("job_1", clock.now(), { strategy: "cheapest" }), clock.now());
    const { member, effects } = runThenExit(state, clock, "job_1", engineDown);
    expect(member.nodeId).toBe("node_a");
    // One settlement for the faulted attempt, at nothing; the node is held to it.
    const settled = settlementsOf(effects);
    expect(settled.map((s) => [s.attemptId, s.outcome])).toEqual([[member.id, "node_fault"]]);
    expect(standing.events.some((e) => e.kind === "attempt" && e.end === "agent_error")).toBe(true);
    const retried = placed(state, "job_1");
    expect(retried.job.status).toBe("assigned");
    expect(retried.member.nodeId).toBe("node_b");
    expect(retried.job.attempts).toBe(2);
    const queued = effects.outbox.find((e) => e.kind === "transition" && e.status === "queued");
    expect(queued?.kind === "transition" ? queued.reason : "").toMatch(
      /^placing the job again after node node_a failed attempt 1 by its own fault \(the node's container engine stopped/,
    );
    expect(queued?.kind === "transition" ? queued.attemptId : null).toBe(member.id);
    const done = runThenExit(state, clock, "job_1", { type: "exited", exitCode: 0, reason: "completed" });
    expect(state.jobs.has("job_1")).toBe(false);
    expect(settlementsOf(done.effects).map((s) => s.outcome)).toEqual(["succeeded"]);
    expect(done.effects.outbox.some((e) => e.kind === "transition" && e.status === "succeeded")).toBe(true);
  });

  it("waits, saying why, when no other node can take the job, and goes back to the node after the wait", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a"), clock.now());
    state.submit(gpuJob("job_1", clock.now()), clock.now());
    runThenExit(state, clock, "job_1", engineDown);
    const job = state.jobs.get("job_1");
    expect(job?.status).toBe("queued");
    expect(job?.members).toEqual([]);
    if (!job) throw new Error("gone");
    const why = explainJob(state, job, clock.now());
    expect(why?.message).toMatch(/node_a may take it again in 30 s, after its own fault$/);
    // The node keeps polling; the job stays off it until the wait is over.
    const pollFor = (ms: number) => {
      for (let t = 0; t < ms; t += 1_000) {
        poll(state, "node_a", `p${clock.now()}`, clock.now());
        state.pollAnswered("node_a", `p${clock.now()}`, clock.advance(900));
        state.sweep(clock.advance(100));
      }
    };
    const until = job.avoidUntil ?? 0;
    expect(until).toBe(clock.now() + NODE_FAULT_AVOID_MS);
    pollFor(until - clock.now() - 1_000);
    expect(state.jobs.get("job_1")?.status).toBe("queued");
    expect(state.nextWakeAt(clock.now())).not.toBeNull();
    pollFor(2_000);
    const back = placed(state, "job_1");
    expect(back.member.nodeId).toBe("node_a");
    expect(back.job.attempts).toBe(2);
    expect(back.job.avoidUntil).toBeUndefined();
  });

  it("takes another node that registers during the wait", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a"), clock.now());
    state.submit(gpuJob("job_1", clock.now()), clock.now());
    runThenExit(state, clock, "job_1", engineDown);
    expect(state.jobs.get("job_1")?.status).toBe("queued");
    state.registerNode(gpuNode("node_b"), clock.advance(2_000));
    expect(placed(state, "job_1").member.nodeId).toBe("node_b");
  });

  it("fails the job once its retries are spent, saying it was the node's fault", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a"), clock.now());
    state.registerNode(gpuNode("node_b"), clock.now());
    state.submit(gpuJob("job_1", clock.now(), { maxRetries: 1 }), clock.now());
    runThenExit(state, clock, "job_1", engineDown);
    // The second attempt's retry has no time to wait here: it is placed on the other node.
    const { effects } = runThenExit(state, clock, "job_1", engineDown);
    expect(state.jobs.has("job_1")).toBe(false);
    const failed = effects.outbox.find((e) => e.kind === "transition" && e.status === "failed");
    expect(failed?.kind === "transition" ? failed.reason : "").toMatch(
      /\(the node's fault, on attempt 2: no retries left\)$/,
    );
    expect(settlementsOf(effects).map((s) => s.outcome)).toEqual(["node_fault"]);
  });

  it("leaves a container's own failure the user's: the job fails at once and is not placed again", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a"), clock.now());
    state.registerNode(gpuNode("node_b"), clock.now());
    state.submit(gpuJob("job_1", clock.now()), clock.now());
    const { effects } = runThenExit(state, clock, "job_1", {
      type: "exited",
      exitCode: 3,
      reason: "completed",
    });
    expect(state.jobs.has("job_1")).toBe(false);
    expect(settlementsOf(effects).map((s) => s.outcome)).toEqual(["failed"]);
    const failed = effects.outbox.find((e) => e.kind === "transition" && e.status === "failed");
    expect(failed?.kind === "transition" ? failed.reason : "").toBe("exited with code 3");
  });
});
