import { describe, expect, it } from "vitest";
import type { OutboxEntry } from "../../src/durable/outbox-entry.js";
import type { RegionState } from "../../src/durable/region-state.js";
import { STORAGE_MONTH_MS, storageChargeMicros } from "../../src/ledger/storage-charge.js";
import { FakeClock, gpuJob, gpuNode, poll, region } from "./region-support.js";

const DAY = 86_400_000;
const CHECKPOINT = { checkpoint: { path: "/meridian/checkpoint", intervalSeconds: 10 } };

function running(state: RegionState, clock: FakeClock, id = "job_1") {
  state.submit(gpuJob(id, clock.now(), CHECKPOINT), clock.now());
  const job = state.jobs.get(id);
  const member = job?.members[0];
  if (!job || !member) throw new Error("not placed");
  state.report(
    job,
    member,
    { type: "started", fencing: member.fencing, at: clock.now(), containerId: "c" },
    clock.advance(100),
  );
  return { job, member };
}

function charges(entries: OutboxEntry[]) {
  return entries.flatMap((e) => (e.kind === "storage-charge" ? [e.charge] : []));
}

describe("pause and resume, on a fake clock", () => {
  it("prices storage per GB-month, rounding up, exactly for large sizes", () => {
    expect(storageChargeMicros(1e9, 0, STORAGE_MONTH_MS, 70_000)).toBe(70_000);
    expect(storageChargeMicros(50e9, 0, 7 * DAY, 70_000)).toBe(816_667);
    expect(storageChargeMicros(1, 0, 1, 70_000)).toBe(1);
    expect(storageChargeMicros(0, 0, DAY, 70_000)).toBe(0);
    // 10 TB for 30 days: bytes × ms is far past 2^53.
    expect(storageChargeMicros(1e13, 0, STORAGE_MONTH_MS, 70_000)).toBe(700_000_000);
  });

  it("stops the members, frees the GPU once they exit, bills storage while paused, and places the resume on any node", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a"), clock.now());
    const { job, member } = running(state, clock);
    state.checkpointStored(job.id, 3, 2e9);
    state.drainEffects();

    state.pause(job, { expiresAt: clock.now() + 7 * DAY, storageMicrosPerGbMonth: 70_000 }, clock.now());
    expect(job.status).toBe("running");
    expect(member.stopping).toBe("paused");
    // A resume while the container still writes its checkpoint is refused; a second pause is not.
    expect(() => state.resume(job, clock.now())).toThrow(/still writing its checkpoint/);
    state.pause(job, { expiresAt: clock.now() + DAY, storageMicrosPerGbMonth: 1 }, clock.now());
    // The node is told to stop it as a pause (SIGTERM, grace, last sync).
    expect(state.workFor("node_a", new Set([member.id]), clock.now()).stop).toEqual([
      { attemptId: member.id, reason: "paused" },
    ]);
    // Another job waits for the GPU the paused one holds.
    state.submit(gpuJob("job_2", clock.now(), { ...CHECKPOINT, timeoutSeconds: 60 }), clock.now());
    expect(state.jobs.get("job_2")?.status).toBe("queued");

    const exitAt = clock.advance(5_000);
    state.report(
      job,
      member,
      { type: "exited", fencing: member.fencing, at: exitAt, exitCode: 143, reason: "cancelled" },
      exitAt,
    );
    expect(job.status).toBe("paused");
    expect(job.members).toEqual([]);
    expect(job.pause?.since).toBe(exitAt);
    const effects = state.drainEffects();
    // GPU time is settled up to the exit, as a cancel is; the GPU went to the waiting job.
    const settle = effects.outbox.find((e) => e.kind === "settle");
    expect(settle?.kind === "settle" && settle.settlement.outcome).toBe("cancelled");
    expect(state.jobs.get("job_2")?.status).toBe("assigned");
    const paused = effects.outbox.find((e) => e.kind === "transition" && e.status === "paused");
    expect(paused?.kind === "transition" && paused.reason).toMatch(
      /checkpoint 3 \(2000000000 bytes\) is kept until/,
    );

    // Resumed two days later: two days of 2 GB are charged, the job is queued for any node.
    state.registerNode(gpuNode("node_b"), clock.now());
    const resumedAt = clock.advance(2 * DAY);
    poll(state, "node_b", "t", resumedAt);
    state.resume(job, resumedAt);
    const after = state.drainEffects();
    expect(charges(after.outbox)).toEqual([
      {
        accountId: "acct_test",
        jobId: job.id,
        key: `storage:${job.id}:${exitAt}`,
        bytes: 2e9,
        fromMs: exitAt,
        toMs: resumedAt,
        amountMicros: storageChargeMicros(2e9, exitAt, resumedAt, 70_000),
      },
    ]);
    expect(job.status).toBe("assigned");
    expect(job.members[0]?.nodeId).toBe("node_b");
    expect(job.pause).toBeUndefined();
    expect(() => state.resume(job, clock.now())).toThrow(/only a paused job can be resumed/);
  });

  it("refuses to pause a job that is not running or has no checkpoint, changing nothing", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.submit(gpuJob("job_q", clock.now(), CHECKPOINT), clock.now());
    const queued = state.jobs.get("job_q");
    if (!queued) throw new Error("not admitted");
    state.drainEffects();
    const terms = { expiresAt: clock.now() + DAY, storageMicrosPerGbMonth: 70_000 };
    expect(() => state.pause(queued, terms, clock.now())).toThrow(
      /only a running job can be paused; this one is queued/,
    );
    expect(() => state.resume(queued, clock.now())).toThrow(/only a paused job/);
    expect(queued.pause).toBeUndefined();
    expect(state.drainEffects().outbox).toEqual([]);
    state.cancel(queued, clock.now());
    state.registerNode(gpuNode("node_a"), clock.now());
    state.submit(gpuJob("job_n", clock.now(), {}), clock.now());
    const bare = state.jobs.get("job_n");
    const member = bare?.members[0];
    if (!bare || !member) throw new Error("not placed");
    state.report(
      bare,
      member,
      { type: "started", fencing: member.fencing, at: clock.now(), containerId: "c" },
      clock.now(),
    );
    state.drainEffects();
    expect(() => state.pause(bare, terms, clock.now())).toThrow(/no checkpoint folder/);
    expect(bare.pause).toBeUndefined();
    expect(member.stopping).toBeNull();
    expect(state.drainEffects().outbox).toEqual([]);
  });

  it("expires a paused job at its time, charging storage up to it, and wakes for it", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a"), clock.now());
    const { job, member } = running(state, clock);
    state.checkpointStored(job.id, 1, 1e9);
    const expiresAt = clock.now() + 3 * DAY;
    state.pause(job, { expiresAt, storageMicrosPerGbMonth: 70_000 }, clock.now());
    const at = clock.advance(1000);
    state.report(
      job,
      member,
      { type: "exited", fencing: member.fencing, at, exitCode: 0, reason: "cancelled" },
      at,
    );
    expect(job.status).toBe("paused");
    state.drainEffects();
    expect(state.nextWakeAt(clock.now())).toBeLessThanOrEqual(expiresAt);

    state.sweep(clock.advance(DAY));
    expect(state.jobs.get(job.id)?.status).toBe("paused");
    state.sweep(clock.advance(2 * DAY));
    expect(state.jobs.has(job.id)).toBe(false);
    const effects = state.drainEffects();
    expect(charges(effects.outbox)).toMatchObject([{ fromMs: at, toMs: expiresAt, bytes: 1e9 }]);
    const end = effects.outbox.find((e) => e.kind === "transition");
    expect(end).toMatchObject({ status: "cancelled", reason: expect.stringMatching(/^paused_expired/) });
    // The hold is given back after the charge.
    expect(effects.outbox.map((e) => e.kind).slice(-1)).toEqual(["release"]);
  });

  it("lets a paused job be cancelled (storage charged), and a node lost while pausing still pauses it", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a"), clock.now());
    const { job } = running(state, clock);
    state.checkpointStored(job.id, 1, 5e8);
    state.pause(job, { expiresAt: clock.now() + DAY, storageMicrosPerGbMonth: 70_000 }, clock.now());
    // The node dies before it reports the exit: the job is paused all the same (its lease lapses).
    state.sweep(clock.advance(60_000));
    expect(job.status).toBe("paused");
    expect(job.pauses).toBe(1);
    state.drainEffects();
    state.cancel(job, clock.advance(3_600_000));
    const effects = state.drainEffects();
    expect(charges(effects.outbox)).toHaveLength(1);
    expect(state.jobs.has(job.id)).toBe(false);
  });
});
