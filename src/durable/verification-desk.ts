import { type GpuModel, gpuModelById } from "../shared/gpu-catalog.js";
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
import type { WindowOptions } from "../shared/verification/challenge-size.js";
import type {
  ChallengeRelease,
  SpotCheckRequest,
  VerificationChallenge,
  VerificationJudgement,
} from "../shared/verification/messages.js";
import { cryptoRandomBytes, type RandomBytes } from "../shared/verification/random-source.js";
import { VerificationError } from "../shared/verification/verification-error.js";
import { type DeviceClaim, withDeviceTwins } from "./verification/attested-twins.js";
import { type ChallengeHolder, findChallenge } from "./verification/challenge-holder.js";
import { recordJudgement } from "./verification/desk-judgement.js";
import type { DeskChanges, DeskNode, DeskOptions } from "./verification/desk-options.js";
import {
  listedModelsOf,
  minOf,
  statusOf,
  type VerificationStatus,
  verifiedTflopsOf,
} from "./verification/desk-status.js";
import { clearForeignTwins, type ForeignTwin, markForeignTwin } from "./verification/foreign-twins.js";
import { markTwins, twinsOf } from "./verification/gpu-twins.js";
import {
  fingerprintOf,
  type GpuVerification,
  isOpen,
  type NodeVerification,
  nodeOutcome,
  unverifiedGpu,
} from "./verification/node-verification.js";

export type { DeskChanges, DeskNode, DeskOptions } from "./verification/desk-options.js";
export type { VerificationStatus } from "./verification/desk-status.js";

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
    this.nodes.delete(node.id);
    this.nodes.set(node.id, {
      v: 1,
      nodeId: node.id,
      fingerprint,
      gpus: node.hardware.gpus.map((gpu) =>
        unverifiedGpu(gpu, this.models(gpu.model ?? "") !== undefined, now),
      ),
    });
    this.touch(node.id);
    // A GPU uuid already on another node here: both are suspect until both pass at once. Not where
    // verification is optional (local runs, whose test agents share fixture uuids).
    if (this.options.requireVerified !== false) {
      for (const nodeId of markTwins(this.nodes, node.id, now)) this.touch(nodeId);
    }
    return true;
  }

  /**
   * The Worker found this node's GPU `uuid` on `twin`, a node of another region: the GPU turns
   * suspect and stays so (foreign-twins.ts). False when the desk has no such node or GPU here.
   */
  markForeignTwin(nodeId: string, uuid: string, twin: ForeignTwin): boolean {
    const node = this.nodes.get(nodeId);
    if (!node || !markForeignTwin(node, uuid, twin)) return false;
    this.touch(nodeId);
    return true;
  }

  /** Challenges every verifiable GPU of the node again as soon as it polls (an operator's request). */
  requestVerification(nodeId: string, now: number): void {
    const node = this.nodes.get(nodeId);
    if (!node) return;
    clearForeignTwins(node);
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
    const room = Math.max(0, (this.options.maxOpenPerNode ?? node.gpus.length) - open);
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
    let round: string | undefined;
    for (const gpu of due) {
      round = this.issue(node, gpu, now, round);
      // Its twins (the same uuid on other nodes) are challenged in the same round, released with it.
      const twins = this.options.requireVerified === false ? [] : twinsOf(this.nodes, node.nodeId, gpu.uuid);
      for (const twin of twins) {
        if (twin.gpu.model !== null && !isOpen(twin.gpu.challenge))
          this.issue(twin.node, twin.gpu, now, round);
      }
    }
    return node.gpus.flatMap((gpu) => (gpu.challenge?.state === "issued" ? [gpu.challenge.challenge] : []));
  }

  /** Issues a challenge to one GPU, in `round` (a new one, named after it, when undefined). */
  private issue(
    node: NodeVerification,
    gpu: GpuVerification,
    now: number,
    round: string | undefined,
  ): string {
    const model = gpu.model;
    if (model === null)
      throw new VerificationError("unknown_gpu_model", "the GPU catalogue does not know this part");
    const record = issueChallenge({
      nodeId: node.nodeId,
      gpu: { uuid: gpu.uuid, model, vramMib: gpu.vramMib },
      now,
      ...this.lifecycle(),
      ...(this.options.dtype ? { dtype: this.options.dtype } : {}),
      ...(this.options.size ? { size: this.options.size } : {}),
      ...(this.options.memory !== undefined ? { memory: this.options.memory } : {}),
    });
    gpu.challenge = record;
    gpu.round = round ?? record.challenge.id;
    gpu.nextChallengeAt = null;
    this.touch(node.nodeId);
    return gpu.round;
  }

  /**
   * The node has prepared for a challenge: returns the release (the seed and the commit deadline).
   * A repeated ready gets the same release. Refusals are as for `commit`.
   */
  ready(nodeId: string, challengeId: string, body: unknown, now: number): ChallengeRelease {
    const { owner, gpu, record } = this.find(nodeId, challengeId);
    const released = acceptReady(record, body, { nodeId, now, ...this.lifecycle() });
    if (released.record !== record) {
      gpu.challenge = released.record;
      this.touch(owner.nodeId);
      this.releaseRound(gpu.round, now);
    }
    return released.release;
  }

  /**
   * Starts every commit window of a round at once, at its first ready: the GPUs of one node and
   * their twins elsewhere, each with its own seed. A GPU answering for several could then only
   * finish one in time; an agent that runs them concurrently, as the real one does, loses nothing.
   */
  private releaseRound(round: string | undefined, now: number): void {
    if (round === undefined) return;
    for (const node of this.nodes.values()) {
      for (const gpu of node.gpus) {
        if (gpu.round !== round || gpu.challenge?.state !== "issued") continue;
        const ready = { challengeId: gpu.challenge.challenge.id };
        gpu.challenge = acceptReady(gpu.challenge, ready, {
          nodeId: node.nodeId,
          now,
          ...this.lifecycle(),
        }).record;
        this.touch(node.nodeId);
      }
    }
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
   * feed to reputation. Refusals are as for `commit`. `claim` checks an attested device against
   * the whole network (the Region object passes the D1 registry's).
   */
  async answer(
    nodeId: string,
    challengeId: string,
    body: unknown,
    now: number,
    claim?: DeviceClaim,
  ): Promise<VerificationJudgement> {
    const { owner, gpu, record } = this.find(nodeId, challengeId);
    const judged = await acceptAnswer(record, body, { nodeId, now, ...this.lifecycle() });
    const judgement = await withDeviceTwins(this.nodes, judged.judgement, claim);
    // The checks await, so the alarm may have expired this challenge meanwhile; it stands.
    if (gpu.challenge !== record) {
      throw new VerificationError(
        "challenge_expired",
        `challenge ${challengeId} was closed while checking it`,
      );
    }
    const closed = judgement === judged.judgement ? judged.record : { ...judged.record, judgement };
    this.judge(owner, gpu, record, closed, judgement);
    return judgement;
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
    return node ? statusOf(node) : undefined;
  }

  /**
   * What each GPU of a verified node is listed and priced as: the catalogue part its measurements
   * matched (part-classifier.ts), by uuid; undefined for a node not verified.
   */
  listedModels(nodeId: string): Map<string, string> | undefined {
    return listedModelsOf(this.nodes.get(nodeId));
  }

  /**
   * Whether every GPU of a verified node is attested (a device key NVIDIA provisioned signed this
   * region's nonce in its last challenge), beyond timing. False for a node that is not verified, and
   * for every node with a part that cannot attest (docs/VERIFICATION.md).
   */
  attested(nodeId: string): boolean {
    return this.status(nodeId)?.assurance === "attested";
  }

  /** Mean measured TFLOP/s per GPU of a verified node, for the scheduler; undefined otherwise. */
  verifiedTflops(nodeId: string): number | undefined {
    return verifiedTflopsOf(this.nodes.get(nodeId));
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

  private find(nodeId: string, challengeId: string): ChallengeHolder {
    return findChallenge(this.nodes, nodeId, challengeId);
  }

  private judge(
    node: NodeVerification,
    gpu: GpuVerification,
    previous: ChallengeRecord,
    record: ChallengeRecord,
    judgement: VerificationJudgement,
  ): void {
    recordJudgement(gpu, record, previous, judgement, {
      random: this.random,
      targetFraction: this.options.targetFraction,
      models: this.options.models,
    });
    this.touch(node.nodeId);
  }

  /** What every lifecycle step takes from the desk's options. */
  private lifecycle(): { random: RandomBytes; window?: WindowOptions; models?: ModelLookup } {
    return {
      random: this.random,
      ...(this.options.window ? { window: this.options.window } : {}),
      ...(this.options.models ? { models: this.options.models } : {}),
    };
  }

  private models(id: string): GpuModel | undefined {
    return (this.options.models ?? gpuModelById)(id);
  }
}
