import { describe, expect, it } from "vitest";
import { silentLog } from "../../src/agent/agent-log.js";
import { systemClock } from "../../src/agent/clock.js";
import type { ChallengeResult } from "../../src/agent/control-plane-client.js";
import { ChallengeQueue } from "../../src/agent/verification/challenge-queue.js";
import type { PreparedBenchmark } from "../../src/shared/verification/benchmark-session.js";
import type { VerificationChallenge } from "../../src/shared/verification/messages.js";
import { NODE } from "../verification/support.js";

function challenge(i: number): VerificationChallenge {
  return {
    id: `vch_${String(i).padStart(32, "0")}`,
    nodeId: NODE,
    gpuUuid: `GPU-${i}`,
    model: "H100-SXM",
    vramMib: 81_559,
    n: 16,
    blocks: 1,
    dtype: "bf16",
    bandwidthBytes: 2 ** 30,
    memory: null,
    issuedAt: Date.now(),
    readyBy: Date.now() + 60_000,
  };
}

describe("the agent's challenge queue", () => {
  it("prepares every GPU of one poll's challenges before the first ready, then runs them at once", async () => {
    // Pure ordering logic: a recording engine and client stand in for the benchmark and the Region.
    const events: string[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const engine = async (c: VerificationChallenge): Promise<PreparedBenchmark> => {
      events.push(`prepare ${c.gpuUuid}`);
      await new Promise((resolve) => setTimeout(resolve, c.gpuUuid === "GPU-0" ? 5 : 40));
      events.push(`prepared ${c.gpuUuid}`);
      return {
        fill: async () => undefined,
        walk: async () => "ef".repeat(32),
        run: async (release) => {
          running++;
          mostAtOnce = Math.max(mostAtOnce, running);
          await new Promise((resolve) => setTimeout(resolve, 20));
          running--;
          return {
            commit: {
              challengeId: release.challengeId,
              root: "ab".repeat(32),
              measured: { matmulMs: 1, bandwidthGBps: 1, bandwidthBytes: 0, vramAllocatedMib: 0, totalMs: 1 },
              runner: { mode: "typescript-cpu", backend: "test", device: "cpu" },
            },
            answer: async (request) => ({ challengeId: request.challengeId, openings: [] }),
            close: async () => {},
          };
        },
        close: async () => {},
      };
    };
    const queue = new ChallengeQueue({
      engine,
      clock: systemClock,
      log: silentLog,
      nodeId: () => NODE,
      sharedGpuUuids: () => ["GPU-0", "GPU-1", "GPU-2"],
      client: {
        readyChallenge: async ({ challengeId }) => {
          events.push(`ready ${challengeId.slice(-1)}`);
          return {
            challengeId,
            phase: "compute",
            seed: "cd".repeat(32),
            releasedAt: Date.now(),
            expiresAt: Date.now() + 30_000,
          };
        },
        commitChallenge: async (commit) => ({ challengeId: commit.challengeId, leaves: [0], answerBy: 0 }),
        answerChallenge: async (): Promise<ChallengeResult> => {
          throw new Error("judged elsewhere");
        },
      },
    });
    for (const i of [0, 1, 2]) queue.enqueue(challenge(i));
    queue.enqueue(challenge(1));
    await queue.idle();
    const firstReady = events.findIndex((event) => event.startsWith("ready"));
    expect(events.slice(0, firstReady).filter((e) => e.startsWith("prepared"))).toHaveLength(3);
    expect(events.filter((e) => e.startsWith("ready"))).toHaveLength(3);
    expect(mostAtOnce).toBe(3);
  });
});
