import type { GpuAttestationEvidence } from "../../shared/verification/attestation/attestation-messages.js";
import type { BenchmarkSession, PreparedBenchmark } from "../../shared/verification/benchmark-session.js";
import type { VerificationChallenge } from "../../shared/verification/messages.js";
import type { AgentLog } from "../agent-log.js";
import { errorMessage } from "../agent-log.js";
import type { Clock } from "../clock.js";
import type { ChallengeResult, ControlPlaneClient } from "../control-plane-client.js";
import type { AttestationSource } from "./attestation-source.js";
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
  /**
   * Where a challenged GPU's attestation evidence comes from, for challenges that ask for it
   * (`attestationNonce`); none, or evidence unavailable: the answer goes without, on timing alone.
   */
  attestation?: AttestationSource;
}

/** Challenge ids remembered to drop repeats (a retried poll's answer carries the same ones). */
const SEEN_LIMIT = 256;

/**
 * Runs proof-of-GPU challenges. The Region challenges every GPU of a node at once and starts all
 * their commit windows together at the first ready (so one GPU cannot answer for several one
 * after another), so the challenges that arrive together (one poll's) run as one batch: prepare
 * the benchmark on each challenged GPU concurrently (runner, VRAM, bandwidth, warm-up), say ready
 * for all once all are prepared, then compute, commit and open rows on every GPU at the same time.
 * Batches run one after another, never two at once on one GPU. They run alongside jobs (a GPU busy
 * with a job must still answer, and the verdict allows for a busy GPU). A failure is logged with
 * the challenge id and nothing more is sent: the control plane's deadline judges a challenge left
 * unanswered.
 */
export class ChallengeQueue {
  private readonly seen: string[] = [];
  private tail: Promise<void> = Promise.resolve();
  private batch: VerificationChallenge[] | undefined;

  constructor(private readonly options: ChallengeQueueOptions) {}

  enqueue(challenge: VerificationChallenge): void {
    if (this.seen.includes(challenge.id)) return;
    this.seen.push(challenge.id);
    if (this.seen.length > SEEN_LIMIT) this.seen.shift();
    if (this.batch) {
      this.batch.push(challenge);
      return;
    }
    // Challenges enqueued in the same turn (one poll answer's) join one batch.
    const batch = [challenge];
    this.batch = batch;
    this.tail = this.tail
      .then(() => new Promise<void>((resolve) => queueMicrotask(resolve)))
      .then(() => {
        if (this.batch === batch) this.batch = undefined;
        return this.runBatch(batch);
      });
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

  private async runBatch(batch: readonly VerificationChallenge[]): Promise<void> {
    const runnable = batch.filter((challenge) => this.admissible(challenge));
    if (runnable.length === 0) return;
    const { engine, clock, log } = this.options;
    const started = clock.now();
    for (const challenge of runnable) {
      log.info(
        `${nameOf(challenge)}: preparing the verification benchmark (n=${challenge.n}, ${challenge.blocks} blocks)`,
      );
    }
    const prepared = await Promise.allSettled(
      runnable.map((challenge) => this.withinDeadline(challenge.readyBy, engine(challenge))),
    );
    try {
      await Promise.all(
        runnable.map(async (challenge, index) => {
          const outcome = prepared[index];
          if (outcome?.status !== "fulfilled") {
            log.error(`${nameOf(challenge)}: ${errorMessage(outcome?.reason)}`);
            return;
          }
          await this.run(challenge, outcome.value, started);
        }),
      );
    } finally {
      for (const outcome of prepared) {
        if (outcome.status === "fulfilled") await outcome.value.close().catch(() => undefined);
      }
    }
  }

  private admissible(challenge: VerificationChallenge): boolean {
    const { clock, log } = this.options;
    const name = nameOf(challenge);
    if (challenge.nodeId !== this.options.nodeId()) {
      log.warn(`${name}: issued to ${challenge.nodeId}, not this node; ignored`);
      return false;
    }
    if (!this.options.sharedGpuUuids().includes(challenge.gpuUuid)) {
      log.warn(`${name}: that GPU is not shared by this host; ignored`);
      return false;
    }
    if (clock.now() > challenge.readyBy) {
      log.warn(`${name}: its setup deadline passed before it could start; ignored`);
      return false;
    }
    return true;
  }

  /** Never rejects: evidence that cannot be had is logged, and the answer goes without it. */
  private async evidenceFor(challenge: VerificationChallenge): Promise<GpuAttestationEvidence | undefined> {
    const { attestation, log } = this.options;
    if (challenge.attestationNonce === undefined || attestation === undefined) return undefined;
    try {
      const collected = await attestation.collect(challenge.gpuUuid, challenge.attestationNonce);
      if ("evidence" in collected) return collected.evidence;
      log.info(`${nameOf(challenge)}: no attestation (${collected.unavailable}); answering on timing alone`);
    } catch (error) {
      log.warn(
        `${nameOf(challenge)}: attestation failed (${errorMessage(error)}); answering on timing alone`,
      );
    }
    return undefined;
  }

  private async run(
    challenge: VerificationChallenge,
    prepared: PreparedBenchmark,
    started: number,
  ): Promise<void> {
    const { client, clock, log } = this.options;
    const name = nameOf(challenge);
    let session: BenchmarkSession | undefined;
    // Fetched alongside the benchmark (an NVML call, no GPU compute), sent with the answer.
    const evidence = this.evidenceFor(challenge);
    try {
      // A lost answer is safe to retry: the Region answers a repeated ready with the same release.
      let release = await client.readyChallenge({ challengeId: challenge.id }, { retries: 2 });
      if (release.phase === "memory") {
        // The memory phase first: "filled" releases the walk seed, the walk's root the compute seed.
        await this.withinDeadline(release.expiresAt, closable(prepared.fill(release)));
        release = await client.readyChallenge({ challengeId: challenge.id, filled: true }, { retries: 2 });
        if (release.phase !== "walk")
          throw new Error(`expected the walk's seed, got the ${release.phase} phase's`);
        const root = await this.withinDeadline(release.expiresAt, closable(prepared.walk(release)));
        release = await client.readyChallenge(
          { challengeId: challenge.id, memory: { root: root.value } },
          { retries: 2 },
        );
      }
      session = await this.withinDeadline(release.expiresAt, prepared.run(release));
      const request = await client.commitChallenge(session.commit, { retries: 2 });
      const answer = await session.answer(request);
      const attestation = await evidence;
      const result = await client.answerChallenge(attestation ? { ...answer, attestation } : answer, {
        retries: 2,
      });
      log.info(`${name}: ${describeResult(result)} (${Math.round(clock.now() - started)} ms)`);
      this.options.onJudged?.(challenge, result);
    } catch (error) {
      log.error(`${name}: ${errorMessage(error)}`);
    } finally {
      await session?.close().catch(() => undefined);
    }
  }
}

/** A value the deadline guard can hold: nothing to close (the prepared benchmark owns the walk). */
async function closable<T>(value: Promise<T>): Promise<{ value: T; close(): Promise<void> }> {
  return { value: await value, close: async () => undefined };
}

function nameOf(challenge: VerificationChallenge): string {
  return `challenge ${challenge.id} (GPU ${challenge.gpuUuid}, ${challenge.model})`;
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
