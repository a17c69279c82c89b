import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { startBenchmark } from "../../src/agent/verification/bench-runner.js";
import { hostProcessLauncher } from "../../src/agent/verification/host-process-launcher.js";
import {
  acceptAnswer,
  acceptCommit,
  acceptReady,
} from "../../src/shared/verification/challenge-lifecycle.js";
import { computeProduct, fillOnCpu, walkOnCpu } from "../../src/shared/verification/cpu-benchmark.js";
import { h100Figures, issueSmall, NODE, seededRandom, T0, testModels } from "./support.js";

/**
 * An interpreter to run gpu-bench.py with, and which of its CPU backends it can run: the first of
 * $MERIDIAN_PYTHON, `python3` on the PATH and /usr/bin/python3 that has numpy (a pyenv shim first
 * on the PATH may have none while Debian's python3-numpy sits under /usr/bin), else the first
 * python3 at all (the pure-Python backend only).
 */
function findPython(): { python: string; backends: Array<"numpy" | "python"> } | undefined {
  const candidates = [process.env.MERIDIAN_PYTHON, "python3", "/usr/bin/python3"].filter(
    (candidate): candidate is string => typeof candidate === "string" && candidate.length > 0,
  );
  const runs = (python: string, code: string): boolean => {
    try {
      execFileSync(python, ["-c", code], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  const withNumpy = candidates.find((python) => runs(python, "import numpy"));
  if (withNumpy) return { python: withNumpy, backends: ["numpy", "python"] };
  const plain = candidates.find((python) => runs(python, "pass"));
  return plain ? { python: plain, backends: ["python"] } : undefined;
}

const found = findPython();
const backends = found?.backends ?? [];
// In CI (.ci/run installs python3 and python3-numpy) the cross-check is required: a missing
// interpreter or numpy fails the run instead of skipping it.
const required = process.env.CI === "true";
if (!found?.backends.includes("numpy")) {
  console.warn(
    `\n!!! ${required ? "FAILING" : "SKIPPED"}: no python3 with numpy here, so gpu-bench.py was NOT cross-checked against the TypeScript verifier on numpy${found ? "" : " (nor on pure Python)"} !!!\n`,
  );
}

describe.runIf(required)("the Python cross-check in CI", () => {
  it("has a python3 with numpy (install python3 and python3-numpy)", () => {
    expect(found?.backends).toContain("numpy");
  });
});

describe.skipIf(backends.length === 0)("gpu-bench.py computes exactly what the TypeScript side does", () => {
  for (const backend of backends) {
    for (const [n, blocks, dtype] of [
      [16, 1, "bf16"],
      [32, 3, "fp16"],
      ...(backend === "numpy"
        ? ([
            [256, 2, "bf16"],
            [128, 2, "fp16"],
            [64, 5, "bf16"],
          ] as const)
        : []),
    ] as const) {
      it(`${backend}: n=${n}, ${blocks} block(s), ${dtype}: prepare, ready, same root, openings verify`, async () => {
        const record = issueSmall({ seed: n + blocks });
        const challenge = { ...record.challenge, n, blocks, dtype };
        const issued = { state: "issued" as const, challenge };
        // The script prepares without the seed; the release gives it one.
        const prepared = await startBenchmark(
          challenge,
          hostProcessLauncher({ backend, ...(found ? { python: found.python } : {}) }),
        );
        const ready = acceptReady(
          issued,
          { challengeId: challenge.id },
          {
            nodeId: NODE,
            now: T0 + 1_000,
            random: seededRandom(n + 1),
            models: testModels,
          },
        );
        const session = await prepared.run(ready.release);
        try {
          expect(session.commit.root).toBe((await computeProduct(challenge, ready.release.seed)).root);
          expect(session.commit.runner).toMatchObject({ mode: "host-process", device: "cpu" });
          // Judged as an H100 on the scaled clock (support.ts): the commit arrives at its pace.
          const measured = h100Figures(challenge);
          const at = T0 + 1_000 + Math.ceil(measured.matmulMs * 1.02);
          const committed = acceptCommit(
            ready.record,
            { ...session.commit, measured },
            { nodeId: NODE, now: at, random: seededRandom(n) },
          );
          const answer = await session.answer(committed.request);
          const { judgement } = await acceptAnswer(committed.record, answer, {
            nodeId: NODE,
            now: at + 500,
            models: testModels,
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

  it.runIf(backends.includes("numpy"))(
    "numpy: the memory phase walks to the same root, and its openings verify",
    async () => {
      const memory = {
        words: 2048 * 16,
        lanes: 64,
        segmentSteps: 8,
        segments: 3,
        groupLanes: 8,
        pageGroups: 2,
      };
      const issued = issueSmall({ seed: 77, n: 32, blocks: 2, memory });
      const prepared = await startBenchmark(
        issued.challenge,
        hostProcessLauncher({ backend: "numpy", ...(found ? { python: found.python } : {}) }),
      );
      try {
        const context = { nodeId: NODE, random: seededRandom(78), models: testModels };
        const first = acceptReady(
          issued,
          { challengeId: issued.challenge.id },
          { ...context, now: T0 + 1_000 },
        );
        await prepared.fill(first.release);
        const walk = acceptReady(
          first.record,
          { challengeId: issued.challenge.id, filled: true },
          { ...context, now: T0 + 1_100 },
        );
        const root = await prepared.walk(walk.release);
        const filled = fillOnCpu(issued.challenge, first.release.seed);
        expect(root).toBe((await walkOnCpu(issued.challenge, filled, walk.release.seed)).root);
        const second = acceptReady(
          walk.record,
          { challengeId: issued.challenge.id, memory: { root } },
          { ...context, now: T0 + 1_300 },
        );
        const session = await prepared.run(second.release);
        const measured = h100Figures(issued.challenge);
        const at = T0 + 1_300 + Math.ceil(measured.matmulMs * 1.02);
        const committed = acceptCommit(
          second.record,
          { ...session.commit, measured },
          { nodeId: NODE, now: at, random: seededRandom(79) },
        );
        const answer = await session.answer(committed.request);
        expect(answer.walk?.length).toBe(committed.request.walkGroups?.length);
        const { judgement } = await acceptAnswer(committed.record, answer, {
          nodeId: NODE,
          now: at + 500,
          models: testModels,
        });
        expect(judgement.reasons.filter((r) => /walk|opening|entry|digest|proof/.test(r.code))).toEqual([]);
        expect(judgement.measured?.provenVramMib).toBe((memory.words * 4) / 2 ** 20);
      } finally {
        await prepared.close();
      }
    },
  );

  it("reports the script's own failure with its reason", async () => {
    const { challenge } = issueSmall();
    await expect(
      startBenchmark(
        { ...challenge, n: 256 },
        hostProcessLauncher({ backend: "python", ...(found ? { python: found.python } : {}) }),
      ),
    ).rejects.toThrow(/pure-Python backend takes n <= 128/);
    await expect(
      startBenchmark(
        challenge,
        hostProcessLauncher({ backend: "cuda", ...(found ? { python: found.python } : {}) }),
      ),
    ).rejects.toThrow(/PyTorch|CUDA/);
  });
});
