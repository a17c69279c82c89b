import type Docker from "dockerode";
import type { PreparedBenchmark } from "../../shared/verification/benchmark-session.js";
import { CPU_BENCHMARK_MAX_N, prepareCpuBenchmark } from "../../shared/verification/cpu-benchmark.js";
import type { RunnerMode, VerificationChallenge } from "../../shared/verification/messages.js";
import { BenchmarkError, startBenchmark } from "./bench-runner.js";
import { benchImage, dockerLauncher } from "./docker-launcher.js";
import { hostProcessLauncher } from "./host-process-launcher.js";

/**
 * Prepares one challenge (runner started, VRAM shown, bandwidth measured, warmed up) without its
 * seed; the prepared benchmark then runs to its commitment once the seed is released.
 */
export type BenchmarkEngine = (challenge: VerificationChallenge) => Promise<PreparedBenchmark>;

export interface EngineChoice {
  mode: RunnerMode;
  /** The image, in container mode: what registration reports and what the provider pre-pulls. */
  image?: string;
}

/**
 * The runner this host supports: where jobs run in containers the benchmark does too (the claim
 * is about the GPU jobs get); without an engine it runs as a host process; a node sharing no GPU
 * answers with the TypeScript CPU benchmark (development only — it cannot verify any GPU model).
 */
export function chooseEngine(options: {
  configured: RunnerMode | undefined;
  runtime: "docker" | "host";
  sharesGpus: boolean;
  image: string | undefined;
}): EngineChoice {
  const mode =
    options.configured ??
    (!options.sharesGpus ? "typescript-cpu" : options.runtime === "docker" ? "container" : "host-process");
  return mode === "container" ? { mode, image: options.image ?? benchImage() } : { mode };
}

export function benchmarkEngine(
  choice: EngineChoice,
  deps: { docker?: Docker; python?: string },
): BenchmarkEngine {
  switch (choice.mode) {
    case "container":
      return (challenge) => {
        const docker = deps.docker;
        if (docker === undefined) {
          throw new BenchmarkError(
            challenge.id,
            "container mode needs the Docker engine; the host runtime has none",
          );
        }
        return startBenchmark(
          challenge,
          dockerLauncher({ docker, gpuUuid: challenge.gpuUuid, image: choice.image }),
        );
      };
    case "host-process":
      return (challenge) =>
        startBenchmark(
          challenge,
          hostProcessLauncher({
            gpuUuid: challenge.gpuUuid,
            ...(deps.python ? { python: deps.python } : {}),
          }),
        );
    case "typescript-cpu":
      return async (challenge) => {
        if (challenge.n > CPU_BENCHMARK_MAX_N) {
          throw new BenchmarkError(
            challenge.id,
            `the TypeScript CPU runner takes n ≤ ${CPU_BENCHMARK_MAX_N}, the challenge asks n = ${challenge.n}`,
          );
        }
        return prepareCpuBenchmark(challenge);
      };
  }
}
