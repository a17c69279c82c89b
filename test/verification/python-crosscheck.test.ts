import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { startBenchmark } from "../../src/agent/verification/bench-runner.js";
import { hostProcessLauncher } from "../../src/agent/verification/host-process-launcher.js";
import {
  acceptAnswer,
  acceptCommit,
  acceptReady,
} from "../../src/shared/verification/challenge-lifecycle.js";
import { computeProduct } from "../../src/shared/verification/cpu-benchmark.js";
import { h100Figures, issueSmall, NODE, seededRandom, T0 } from "./support.js";

/** Which of the script's CPU backends this machine's python3 can run. */
function pythonBackends(): Array<"numpy" | "python"> {
  try {
    execFileSync("python3", ["-c", "pass"], { stdio: "ignore" });
  } catch {
    return [];
  }
  try {
    execFileSync("python3", ["-c", "import numpy"], { stdio: "ignore" });
    return ["numpy", "python"];
  } catch {
    return ["python"];
  }
}

const backends = pythonBackends();
if (backends.length === 0) {
  console.warn(
    "\n!!! SKIPPED: python3 is not installed here, so gpu-bench.py was NOT cross-checked against the TypeScript verifier !!!\n",
  );
}

describe.skipIf(backends.length === 0)("gpu-bench.py computes exactly what the TypeScript side does", () => {
  for (const backend of backends) {
    for (const [n, blocks, dtype] of [
      [16, 1, "bf16"],
      [32, 3, "fp16"],
      ...(backend === "numpy"
        ? ([
            [256, 2, "bf16"],
            [512, 1, "fp16"],
            [64, 5, "bf16"],
          ] as const)
        : []),
    ] as const) {
      it(`${backend}: n=${n}, ${blocks} block(s), ${dtype}: prepare, ready, same root, openings verify`, async () => {
        const record = issueSmall({ seed: n + blocks });
        const challenge = { ...record.challenge, n, blocks, dtype };
        const issued = { state: "issued" as const, challenge };
        // The script prepares without the seed; the release gives it one.
        const prepared = await startBenchmark(challenge, hostProcessLauncher({ backend }));
        const ready = acceptReady(
          issued,
          { challengeId: challenge.id },
          {
            nodeId: NODE,
            now: T0 + 1_000,
            random: seededRandom(n + 1),
          },
        );
        const session = await prepared.run(ready.release);
        try {
          expect(session.commit.root).toBe((await computeProduct(challenge, ready.release.seed)).root);
          expect(session.commit.runner).toMatchObject({ mode: "host-process", device: "cpu" });
          const committed = acceptCommit(
            ready.record,
            { ...session.commit, measured: h100Figures(challenge) },
            { nodeId: NODE, now: T0 + 1_500, random: seededRandom(n) },
          );
          const answer = await session.answer(committed.request);
          const { judgement } = await acceptAnswer(committed.record, answer, {
            nodeId: NODE,
            now: T0 + 2_000,
          });
          expect(judgement.reasons).toEqual([]);
          expect(judgement.outcome).toBe("verified");
        } finally {
          await session.close();
          await prepared.close();
        }
      });
    }
  }

  it("reports the script's own failure with its reason", async () => {
    const { challenge } = issueSmall();
    await expect(
      startBenchmark({ ...challenge, n: 256 }, hostProcessLauncher({ backend: "python" })),
    ).rejects.toThrow(/pure-Python backend takes n <= 128/);
    await expect(startBenchmark(challenge, hostProcessLauncher({ backend: "cuda" }))).rejects.toThrow(
      /PyTorch|CUDA/,
    );
  });
});
