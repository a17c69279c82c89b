import { z } from "zod";
import type { BenchmarkSession, PreparedBenchmark } from "../../shared/verification/benchmark-session.js";
import {
  type ChallengeRelease,
  LeafOpening,
  type SpotCheckRequest,
  type VerificationAnswer,
  type VerificationChallenge,
  VerificationCommit,
} from "../../shared/verification/messages.js";
import { WalkOpening } from "../../shared/verification/walk-messages.js";
import type { BenchLauncher, BenchProcess } from "./bench-process.js";

/** What gpu-bench.py prints; validated here so a broken script fails with a reason, not later. */
const ScriptLine = z.discriminatedUnion("type", [
  z.object({ type: z.literal("prepared") }),
  z.object({
    type: z.literal("commit"),
    root: z.string(),
    measured: VerificationCommit.shape.measured,
    backend: z.string(),
    device: z.string(),
  }),
  z.object({ type: z.literal("filled") }),
  z.object({ type: z.literal("walk"), root: z.string().regex(/^[0-9a-f]{64}$/) }),
  z.object({
    type: z.literal("answer"),
    openings: z.array(LeafOpening),
    walk: z.array(WalkOpening).optional(),
  }),
  z.object({ type: z.literal("error"), message: z.string() }),
]);
type ScriptLine = z.infer<typeof ScriptLine>;

export class BenchmarkError extends Error {
  readonly code = "benchmark_failed";
  constructor(challengeId: string, reason: string) {
    super(`the verification benchmark for ${challengeId} failed: ${reason}`);
    this.name = "BenchmarkError";
  }
}

async function nextLine(bench: BenchProcess, challengeId: string): Promise<ScriptLine> {
  const next = await bench.lines.next();
  if (next.done) {
    const status = await bench.exited;
    throw new BenchmarkError(
      challengeId,
      `the script ended (status ${status}): ${bench.stderrTail().trim()}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(next.value);
  } catch {
    throw new BenchmarkError(
      challengeId,
      `the script printed something that is not JSON: ${next.value.slice(0, 200)}`,
    );
  }
  const line = ScriptLine.safeParse(parsed);
  if (!line.success)
    throw new BenchmarkError(challengeId, `unexpected script output: ${next.value.slice(0, 200)}`);
  if (line.data.type === "error") throw new BenchmarkError(challengeId, line.data.message);
  return line.data;
}

/**
 * Starts gpu-bench.py for a challenge and waits until it has prepared (runner up, VRAM filled,
 * bandwidth measured, kernels warm); `run` then hands it the released seed and waits for its
 * commitment. The process stays alive until `answer` (or `close`), so the rows it opens are those
 * of the product it committed to.
 */
export async function startBenchmark(
  challenge: VerificationChallenge,
  launcher: BenchLauncher,
): Promise<PreparedBenchmark> {
  const bench = await launcher.launch();
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    bench.stdin.end();
    await bench.kill();
  };
  try {
    bench.stdin.write(`${JSON.stringify(challenge)}\n`);
    const prepared = await nextLine(bench, challenge.id);
    if (prepared.type !== "prepared")
      throw new BenchmarkError(challenge.id, "the script did not prepare before anything else");
  } catch (error) {
    await close();
    throw error;
  }
  let ran = false;
  const fill = async (release: ChallengeRelease): Promise<void> => {
    if (closed) throw new BenchmarkError(challenge.id, "the benchmark is closed");
    try {
      bench.stdin.write(`${JSON.stringify(release)}\n`);
      const line = await nextLine(bench, challenge.id);
      if (line.type !== "filled")
        throw new BenchmarkError(challenge.id, "the script did not fill its working set");
    } catch (error) {
      await close();
      throw error;
    }
  };
  const walk = async (release: ChallengeRelease): Promise<string> => {
    if (closed) throw new BenchmarkError(challenge.id, "the benchmark is closed");
    try {
      bench.stdin.write(`${JSON.stringify(release)}\n`);
      const line = await nextLine(bench, challenge.id);
      if (line.type !== "walk")
        throw new BenchmarkError(challenge.id, "the script did not walk its working set");
      return line.root;
    } catch (error) {
      await close();
      throw error;
    }
  };
  const run = async (release: ChallengeRelease): Promise<BenchmarkSession> => {
    if (closed) throw new BenchmarkError(challenge.id, "the benchmark is closed");
    if (ran) throw new BenchmarkError(challenge.id, "the benchmark runs once");
    ran = true;
    try {
      bench.stdin.write(`${JSON.stringify(release)}\n`);
      const line = await nextLine(bench, challenge.id);
      if (line.type !== "commit")
        throw new BenchmarkError(challenge.id, "the script answered before committing");
      const commit = VerificationCommit.parse({
        challengeId: challenge.id,
        root: line.root,
        measured: line.measured,
        runner: {
          mode: launcher.mode,
          ...(launcher.image ? { image: launcher.image } : {}),
          backend: line.backend.slice(0, 128),
          device: line.device.slice(0, 128),
        },
      });
      return {
        commit,
        answer: async (request: SpotCheckRequest): Promise<VerificationAnswer> => {
          if (closed) throw new BenchmarkError(challenge.id, "the session is closed");
          try {
            bench.stdin.write(`${JSON.stringify(request)}\n`);
            const reply = await nextLine(bench, challenge.id);
            if (reply.type !== "answer") throw new BenchmarkError(challenge.id, "the script committed twice");
            return {
              challengeId: challenge.id,
              openings: reply.openings,
              ...(reply.walk ? { walk: reply.walk } : {}),
            };
          } finally {
            await close();
          }
        },
        close,
      };
    } catch (error) {
      await close();
      throw error;
    }
  };
  return { fill, walk, run, close };
}
