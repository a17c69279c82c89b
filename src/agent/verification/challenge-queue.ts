import type { BenchmarkSession, PreparedBenchmark } from "../../shared/verification/benchmark-session.js";
import type { VerificationChallenge } from "../../shared/verification/messages.js";
import type { AgentLog } from "../agent-log.js";
import { errorMessage } from "../agent-log.js";
import type { Clock } from "../clock.js";
import type { ChallengeResult, ControlPlaneClient } from "../control-plane-client.js";
import type { BenchmarkEngine } from "./benchmark-engine.js";

export interface ChallengeQueueOptions {
  client: Pick<ControlPlaneClient, "readyChallenge" | "commitChallenge" | "answerChallenge">;
  engine: BenchmarkEngine;
  clock: Clock;
  log: AgentLog;
  /** The node id the agent is registered as now (undefined before registration). */
  nodeId: () => string | undefined;
  /** The uuids of the GPUs the host shares now. */
  sharedGpuUuids: () => readonly string[];
  onJudged?: (challenge: VerificationChallenge, result: ChallengeResult) => void;
}

/** Challenge ids remembered to drop repeats (a retried poll's answer carries the same ones). */
const SEEN_LIMIT = 256;

/**
 * Runs proof-of-GPU challenges one at a time, in arrival order: prepare the benchmark on the
 * challenged GPU (runner, VRAM, bandwidth, warm-up), say ready and get the seed, compute and
 * commit inside the window that starts then, open the rows asked for, log the verdict. They run alongside jobs (a GPU busy with a
 * job must still answer, and the verdict allows for a busy GPU), but never two at once, since two
 * benchmarks on one host would each measure the other. A failure is logged with the challenge id
 * and nothing more is sent: the control plane's deadline judges a challenge left unanswered.
 */
export class ChallengeQueue {
  private readonly seen: string[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly options: ChallengeQueueOptions) {}

  enqueue(challenge: VerificationChallenge): void {
    if (this.seen.includes(challenge.id)) return;
    this.seen.push(challenge.id);
    if (this.seen.length > SEEN_LIMIT) this.seen.shift();
    this.tail = this.tail.then(() => this.run(challenge));
  }

  /** Settles once every challenge queued so far has been handled. */
  idle(): Promise<void> {
    return this.tail;
  }

  /**
   * What the benchmark is starting (its preparation or its session), unless it takes well past the
   * deadline: then the queue moves on, and one that turns up later is closed at once (freeing its
   * GPU memory).
   */
  private withinDeadline<T extends { close(): Promise<void> }>(
    deadline: number,
    starting: Promise<T>,
  ): Promise<T> {
    const { clock } = this.options;
    const limit = Math.max(0, deadline - clock.now()) + HUNG_AFTER_DEADLINE_MS;
    return new Promise<T>((resolve, reject) => {
      let late = false;
      const cancel = clock.setTimer(() => {
        late = true;
        reject(new Error(`the benchmark did not get there within ${Math.round(limit / 1000)} s; given up`));
      }, limit);
      starting.then(
        (session) => {
          cancel();
          if (late) void session.close().catch(() => undefined);
          else resolve(session);
        },
        (error: unknown) => {
          cancel();
          reject(error);
        },
      );
    });
  }

  private async run(challenge: VerificationChallenge): Promise<void> {
    const { client, engine, clock, log } = this.options;
    const name = `challenge ${challenge.id} (GPU ${challenge.gpuUuid}, ${challenge.model})`;
    if (challenge.nodeId !== this.options.nodeId()) {
      log.warn(`${name}: issued to ${challenge.nodeId}, not this node; ignored`);
      return;
    }
    if (!this.options.sharedGpuUuids().includes(challenge.gpuUuid)) {
      log.warn(`${name}: that GPU is not shared by this host; ignored`);
      return;
    }
    if (clock.now() > challenge.readyBy) {
      log.warn(`${name}: its setup deadline passed before it could start; ignored`);
      return;
    }
    log.info(`${name}: preparing the verification benchmark (n=${challenge.n}, ${challenge.blocks} blocks)`);
    const started = clock.now();
    let prepared: PreparedBenchmark | undefined;
    let session: BenchmarkSession | undefined;
    try {
      prepared = await this.withinDeadline(challenge.readyBy, engine(challenge));
      // A lost answer is safe to retry: the Region answers a repeated ready with the same release.
      const release = await client.readyChallenge({ challengeId: challenge.id }, { retries: 2 });
      session = await this.withinDeadline(release.expiresAt, prepared.run(release));
      const request = await client.commitChallenge(session.commit, { retries: 2 });
      const answer = await session.answer(request);
      const result = await client.answerChallenge(answer, { retries: 2 });
      log.info(`${name}: ${describeResult(result)} (${Math.round(clock.now() - started)} ms)`);
      this.options.onJudged?.(challenge, result);
    } catch (error) {
      log.error(`${name}: ${errorMessage(error)}`);
    } finally {
      await session?.close().catch(() => undefined);
      await prepared?.close().catch(() => undefined);
    }
  }
}

/** Slack past the commit deadline before a hung benchmark is given up on, so the queue moves on. */
const HUNG_AFTER_DEADLINE_MS = 60_000;

export function describeResult(result: ChallengeResult): string {
  const { judgement } = result;
  const measured = judgement.measured
    ? `: ${judgement.measured.tflops.toFixed(1)} TFLOP/s (${pct(judgement.measured.computeRatio)} of datasheet), ` +
      `${judgement.measured.bandwidthGBps.toFixed(0)} GB/s (${pct(judgement.measured.bandwidthRatio)})`
    : "";
  const reasons =
    judgement.reasons.length > 0 ? `; ${judgement.reasons.map((reason) => reason.message).join("; ")}` : "";
  return `${result.outcome}${measured}${reasons}`;
}

function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(0)}%`;
}
