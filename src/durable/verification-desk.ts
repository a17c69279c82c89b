import { type GpuModel, gpuModelById } from "../shared/gpu-catalog.js";
import type { ChallengeDtype } from "../shared/verification/canonical-value.js";
import {
  acceptAnswer,
  acceptCommit,
  acceptReady,
  type ChallengeRecord,
  deadlineOf,
  expireChallenge,
  issueChallenge,
  type ModelLookup,
} from "../shared/verification/challenge-lifecycle.js";
import type { ChallengeSize, WindowOptions } from "../shared/verification/challenge-size.js";
import type {
  ChallengeRelease,
  JudgementReason,
  SpotCheckRequest,
  VerificationChallenge,
  VerificationJudgement,
} from "../shared/verification/messages.js";
import { cryptoRandomBytes, type RandomBytes } from "../shared/verification/random-source.js";
import { estimateChallengeGpuMs, nextChallengeDelayMs } from "../shared/verification/rechallenge-schedule.js";
import { VerificationError } from "../shared/verification/verification-error.js";
import {
  fingerprintOf,
  type GpuOutcome,
  type GpuVerification,
  isOpen,
  type NodeOutcome,
  type NodeVerification,
  nodeOutcome,
} from "./verification/node-verification.js";

/** A node as the desk needs it: its id and GPUs (NodeRecord fits). */
export interface DeskNode {
  id: string;
  hardware: { gpus: readonly { uuid: string; model?: string | undefined; vramMib: number }[] };
}

export interface DeskOptions {
  /** Randomness for seeds, spot checks and intervals; tests pass a seeded source. */
  random?: RandomBytes;
  /** Overrides the catalogue-derived challenge size (tests use small matrices). */
  size?: Partial<ChallengeSize>;
  window?: WindowOptions;
  dtype?: ChallengeDtype;
  /** Long-run fraction of a GPU's time spent on challenges (default 0.8%, under the 1% ceiling). */
  targetFraction?: number;
  /**
   * Open challenges one node holds at once. One by default: an agent that runs challenges one
   * after another would otherwise miss the later ones' commit windows. Raise it once the agent
   * runs a challenge per GPU concurrently.
   */
  maxOpenPerNode?: number;
  /** When true (the default) only a verified node may take work; false admits unverified nodes. */
  requireVerified?: boolean;
  /** The catalogue by default; unit tests pass a scaled copy so tiny challenges take seconds. */
  models?: ModelLookup;
}

/** What the provider and the inventory see of a node's verification. */
export interface VerificationStatus {
  nodeId: string;
  outcome: NodeOutcome;
  gpus: {
    uuid: string;
    model: string | null;
    outcome: GpuOutcome;
    /** A challenge for this GPU is out now. */
    open: boolean;
    tflops: number | null;
    bandwidthGBps: number | null;
    reasons: JudgementReason[];
    lastVerifiedAt: number | null;
    nextChallengeAt: number | null;
  }[];
  /** The most recent time any GPU was verified. */
  lastVerifiedAt: number | null;
  /** The soonest planned challenge of any GPU. */
  nextChallengeAt: number | null;
}

/** Storage writes owed since the last `takeChanges`: one key per node. */
export interface DeskChanges {
  puts: Record<string, NodeVerification>;
  deletes: string[];
}

function minOf(values: readonly (number | null | undefined)[]): number | null {
  let least: number | null = null;
  for (const value of values) if (value != null && (least === null || value < least)) least = value;
  return least;
}

/**
 * Proof-of-GPU bookkeeping for a region: which GPUs to challenge and when, the challenge records,
 * and each node's standing. Pure apart from the randomness it is given; the state is plain JSON,
 * one record per node, changed only by registrations and challenge messages (never by a poll that
 * finds nothing due).
 *
 * The Region object: calls `onRegistered` from `register`; on each poll attaches
 * `challengesFor(node, now)` to the answer (challenges are issued then, without a seed, so the
 * setup deadline starts when the agent can see it); routes the agent's ready, commit and answer to
 * `ready` (which releases the seed and starts the commit window), `commit` and `answer`;
 * calls `expire` from its alarm, armed at `nextWakeAt()`; feeds every judgement to reputation;
 * and writes `takeChanges()` with the rest of the method's changes.
 */
export class VerificationDesk {
  private readonly nodes = new Map<string, NodeVerification>();
  private readonly changed = new Set<string>();
  private readonly removed = new Set<string>();
  private readonly random: RandomBytes;

  constructor(private readonly options: DeskOptions = {}) {
    this.random = options.random ?? cryptoRandomBytes;
  }

  /** Rebuilds a desk from stored records (by node id), with nothing dirty. */
  static from(json: Record<string, NodeVerification>, options: DeskOptions = {}): VerificationDesk {
    const desk = new VerificationDesk(options);
    for (const [nodeId, node] of Object.entries(json)) desk.nodes.set(nodeId, structuredClone(node));
    return desk;
  }

  toJSON(): Record<string, NodeVerification> {
    return Object.fromEntries([...this.nodes].map(([id, node]) => [id, structuredClone(node)]));
  }

  get dirty(): boolean {
    return this.changed.size > 0 || this.removed.size > 0;
  }

  takeChanges(): DeskChanges {
    const puts: Record<string, NodeVerification> = {};
    for (const id of this.changed) {
      const node = this.nodes.get(id);
      if (node) puts[id] = structuredClone(node);
    }
    const deletes = [...this.removed];
    this.changed.clear();
    this.removed.clear();
    return { puts, deletes };
  }

  /**
   * A node registered (or registered again). A new node, or one whose GPU set (uuids and models)
   * differs from the one it was verified with, starts over: every GPU unverified and due now.
   * Returns whether verification (re)started; an unchanged re-registration changes nothing.
   */
  onRegistered(node: DeskNode, now: number): boolean {
    const fingerprint = fingerprintOf(node.hardware.gpus);
    if (this.nodes.get(node.id)?.fingerprint === fingerprint) return false;
    this.nodes.set(node.id, {
      v: 1,
      nodeId: node.id,
      fingerprint,
      gpus: node.hardware.gpus.map((gpu) => {
        const known = gpu.model !== undefined && this.models(gpu.model) !== undefined;
        return {
          uuid: gpu.uuid,
          model: known ? (gpu.model ?? null) : null,
          vramMib: gpu.vramMib,
          outcome: "unverified",
          reasons: known
            ? []
            : [{ code: "unknown_gpu_model", message: "the GPU catalogue does not know this part" }],
          measured: null,
          lastJudgedAt: null,
          lastVerifiedAt: null,
          nextChallengeAt: known ? now : null,
          challenge: null,
        };
      }),
    });
    this.touch(node.id);
    return true;
  }

  /** Challenges every verifiable GPU of the node again as soon as it polls (an operator's request). */
  requestVerification(nodeId: string, now: number): void {
    const node = this.nodes.get(nodeId);
    if (!node) return;
    for (const gpu of node.gpus) {
      if (gpu.model !== null && !isOpen(gpu.challenge)) gpu.nextChallengeAt = now;
    }
    this.touch(nodeId);
  }

  /** Nodes with a challenge to hand out at `now`: wake their held polls. */
  dueNodes(now: number): string[] {
    return [...this.nodes.values()].filter((node) => this.dueGpus(node, now).length > 0).map((n) => n.nodeId);
  }

  private dueGpus(node: NodeVerification, now: number): GpuVerification[] {
    const open = node.gpus.filter((gpu) => isOpen(gpu.challenge)).length;
    const room = Math.max(0, (this.options.maxOpenPerNode ?? 1) - open);
    return node.gpus
      .filter(
        (gpu) =>
          gpu.model !== null &&
          gpu.nextChallengeAt !== null &&
          gpu.nextChallengeAt <= now &&
          !isOpen(gpu.challenge),
      )
      .sort((a, b) => (a.nextChallengeAt ?? 0) - (b.nextChallengeAt ?? 0))
      .slice(0, room);
  }

  /**
   * The challenges to put in this node's poll answer: new ones issued now for GPUs that are due
   * (never a second open one for a GPU), and those issued earlier that have no ready yet, sent
   * again in case the answer that carried them was lost. The agent runs each id once.
   */
  challengesFor(nodeId: string, now: number): VerificationChallenge[] {
    const node = this.nodes.get(nodeId);
    if (!node) return [];
    const due = this.dueGpus(node, now);
    for (const gpu of due) {
      const model = gpu.model;
      if (model === null) continue;
      gpu.challenge = issueChallenge({
        nodeId,
        gpu: { uuid: gpu.uuid, model, vramMib: gpu.vramMib },
        now,
        random: this.random,
        ...(this.options.dtype ? { dtype: this.options.dtype } : {}),
        ...(this.options.size ? { size: this.options.size } : {}),
        ...(this.options.window ? { window: this.options.window } : {}),
        ...(this.options.models ? { models: this.options.models } : {}),
      });
      gpu.nextChallengeAt = null;
    }
    if (due.length > 0) this.touch(nodeId);
    return node.gpus.flatMap((gpu) => (gpu.challenge?.state === "issued" ? [gpu.challenge.challenge] : []));
  }

  /**
   * The node has prepared for a challenge: returns the release (the seed and the commit deadline).
   * A repeated ready gets the same release. Refusals are as for `commit`.
   */
  ready(nodeId: string, challengeId: string, body: unknown, now: number): ChallengeRelease {
    const { owner, gpu, record } = this.find(nodeId, challengeId);
    const released = acceptReady(record, body, {
      nodeId,
      now,
      random: this.random,
      ...(this.options.window ? { window: this.options.window } : {}),
      ...(this.options.models ? { models: this.options.models } : {}),
    });
    if (released.record !== record) {
      gpu.challenge = released.record;
      this.touch(owner.nodeId);
    }
    return released.release;
  }

  /**
   * The node's commitment for a challenge: returns the spot checks to send back. Refusals
   * (unknown, someone else's, replayed, late, malformed) are VerificationErrors and change nothing.
   */
  commit(nodeId: string, challengeId: string, body: unknown, now: number): SpotCheckRequest {
    const { owner, gpu, record } = this.find(nodeId, challengeId);
    const accepted = acceptCommit(record, body, { nodeId, now, random: this.random });
    gpu.challenge = accepted.record;
    this.touch(owner.nodeId);
    return accepted.request;
  }

  /**
   * The node's openings: checks them and judges the GPU. Returns the judgement for the caller to
   * feed to reputation. Refusals are as for `commit`.
   */
  async answer(
    nodeId: string,
    challengeId: string,
    body: unknown,
    now: number,
  ): Promise<VerificationJudgement> {
    const { owner, gpu, record } = this.find(nodeId, challengeId);
    const judged = await acceptAnswer(record, body, {
      nodeId,
      now,
      ...(this.options.models ? { models: this.options.models } : {}),
    });
    // The CPU check awaits, so the alarm may have expired this challenge meanwhile; it stands.
    if (gpu.challenge !== record) {
      throw new VerificationError(
        "challenge_expired",
        `challenge ${challengeId} was closed while checking it`,
      );
    }
    this.judge(owner, gpu, record, judged.record, judged.judgement);
    return judged.judgement;
  }

  /** For the alarm: judges every challenge past its deadline (rejected: deadline missed). */
  expire(now: number): VerificationJudgement[] {
    const out: VerificationJudgement[] = [];
    for (const node of this.nodes.values()) {
      for (const gpu of node.gpus) {
        if (!gpu.challenge) continue;
        const expired = expireChallenge(gpu.challenge, now);
        if (!expired) continue;
        this.judge(node, gpu, gpu.challenge, expired.record, expired.judgement);
        out.push(expired.judgement);
      }
    }
    return out;
  }

  /** When the alarm should fire next: the soonest challenge deadline or planned challenge. */
  nextWakeAt(): number | undefined {
    const times: (number | null | undefined)[] = [];
    for (const node of this.nodes.values()) {
      for (const gpu of node.gpus) {
        times.push(gpu.challenge ? deadlineOf(gpu.challenge) : undefined, gpu.nextChallengeAt);
      }
    }
    return minOf(times) ?? undefined;
  }

  status(nodeId: string): VerificationStatus | undefined {
    const node = this.nodes.get(nodeId);
    if (!node) return undefined;
    return {
      nodeId,
      outcome: nodeOutcome(node),
      gpus: node.gpus.map((gpu) => ({
        uuid: gpu.uuid,
        model: gpu.model,
        outcome: gpu.outcome,
        open: isOpen(gpu.challenge),
        tflops: gpu.measured?.tflops ?? null,
        bandwidthGBps: gpu.measured?.bandwidthGBps ?? null,
        reasons: gpu.reasons,
        lastVerifiedAt: gpu.lastVerifiedAt,
        nextChallengeAt: gpu.nextChallengeAt,
      })),
      lastVerifiedAt: node.gpus.reduce<number | null>(
        (latest, gpu) =>
          gpu.lastVerifiedAt !== null && (latest === null || gpu.lastVerifiedAt > latest)
            ? gpu.lastVerifiedAt
            : latest,
        null,
      ),
      nextChallengeAt: minOf(node.gpus.map((gpu) => gpu.nextChallengeAt)),
    };
  }

  /** Mean measured TFLOP/s per GPU of a verified node, for the scheduler; undefined otherwise. */
  verifiedTflops(nodeId: string): number | undefined {
    const node = this.nodes.get(nodeId);
    if (!node || nodeOutcome(node) !== "verified") return undefined;
    const figures = node.gpus.flatMap((gpu) => (gpu.measured ? [gpu.measured.tflops] : []));
    if (figures.length === 0) return undefined;
    return figures.reduce((sum, tflops) => sum + tflops, 0) / figures.length;
  }

  /**
   * Whether the node may take new work: never while suspect (until a re-challenge clears it) or
   * rejected (delisted); before its first verification only when `requireVerified` is off. A node
   * without GPUs has nothing to verify.
   */
  eligibleForWork(nodeId: string): boolean {
    const node = this.nodes.get(nodeId);
    if (!node) return this.options.requireVerified === false;
    if (node.gpus.length === 0) return true;
    const outcome = nodeOutcome(node);
    if (outcome === "verified") return true;
    if (outcome === "suspect" || outcome === "rejected") return false;
    return this.options.requireVerified === false;
  }

  /** Drops a node that left the region for good. */
  forget(nodeId: string): void {
    if (!this.nodes.delete(nodeId)) return;
    this.changed.delete(nodeId);
    this.removed.add(nodeId);
  }

  private touch(nodeId: string): void {
    this.changed.add(nodeId);
    this.removed.delete(nodeId);
  }

  /** The GPU holding this challenge; a challenge held by another node is refused by the lifecycle. */
  private find(
    nodeId: string,
    challengeId: string,
  ): { owner: NodeVerification; gpu: GpuVerification; record: ChallengeRecord } {
    const own = this.nodes.get(nodeId);
    const candidates = own ? [own, ...this.nodes.values()] : [...this.nodes.values()];
    for (const owner of candidates) {
      for (const gpu of owner.gpus) {
        if (gpu.challenge?.challenge.id === challengeId) return { owner, gpu, record: gpu.challenge };
      }
    }
    throw new VerificationError("challenge_mismatch", `no challenge ${challengeId} is open here`);
  }

  private judge(
    node: NodeVerification,
    gpu: GpuVerification,
    previous: ChallengeRecord,
    record: ChallengeRecord,
    judgement: VerificationJudgement,
  ): void {
    gpu.challenge = record;
    gpu.outcome = judgement.outcome;
    gpu.reasons = judgement.reasons;
    gpu.lastJudgedAt = judgement.judgedAt;
    if (judgement.measured) {
      gpu.measured = { tflops: judgement.measured.tflops, bandwidthGBps: judgement.measured.bandwidthGBps };
    }
    if (judgement.outcome === "verified") gpu.lastVerifiedAt = judgement.judgedAt;
    const delay = nextChallengeDelayMs({
      outcome: judgement.outcome,
      busyMs: this.busyMs(previous),
      random: this.random,
      ...(this.options.targetFraction !== undefined ? { targetFraction: this.options.targetFraction } : {}),
    });
    gpu.nextChallengeAt = delay === undefined ? null : judgement.judgedAt + delay;
    this.touch(node.nodeId);
  }

  /**
   * GPU time a challenge holds, for the re-challenge interval: the estimate from the claimed part
   * and the challenge's size alone. Nothing the agent reports (a `totalMs` of 10^12 once made the
   * next challenge millennia away) and nothing it controls (how slowly it answers) moves it.
   */
  private busyMs(record: ChallengeRecord): number {
    const model = this.models(record.challenge.model);
    return model ? estimateChallengeGpuMs(model, record.challenge) : 0;
  }

  private models(id: string): GpuModel | undefined {
    return (this.options.models ?? gpuModelById)(id);
  }
}
