import type { NodeMetrics } from "../shared/agent-protocol.js";
import { gpuModelById } from "../shared/gpu-catalog.js";
import type { VerificationJudgement } from "../shared/verification/messages.js";
import type { NodeEvent } from "./effects.js";
import { NodeMetricsStore } from "./node-metrics.js";
import type { NodeRecord } from "./region-records.js";
import { ReputationBook, type ReputationPolicy, type ReputationState } from "./reputation/index.js";
import { STORAGE_KEYS } from "./storage-keys.js";
import type { NodeVerification } from "./verification/node-verification.js";
import { VerificationDesk } from "./verification-desk.js";

/** Figures about nodes that the state machine reads, and the events it reports to them. */
export interface NodeStanding {
  /** False while a node may not take new work (quarantined, expelled, failed verification). */
  eligible(nodeId: string, now: number): boolean;
  reputation(nodeId: string, now: number): number | undefined;
  verifiedTflops(nodeId: string): number | undefined;
  /** What a verified node's GPUs are listed as, by uuid: the parts they measured as (verification). */
  listedModels?(nodeId: string): ReadonlyMap<string, string> | undefined;
  /** Every GPU of a verified node attested, beyond timing (placement.requireAttested). */
  attested?(nodeId: string): boolean;
  /** 1 for a healthy node, lower for one running hot or reporting GPU errors. */
  healthFactor(node: NodeRecord): number;
  /** What the node did: came online, went offline, acknowledged or ended an attempt. */
  observe(event: NodeEvent): void;
}

/** A standing that holds nothing against any node (pure tests, benches). */
export const NEUTRAL_STANDING: NodeStanding = {
  eligible: () => true,
  reputation: () => undefined,
  verifiedTflops: () => undefined,
  healthFactor: () => 1,
  observe: () => {},
};

/**
 * Everything the region knows of a node's standing beyond its registration: reputation (with
 * quarantine and expulsion), proof-of-GPU verification, and health from its metrics. The
 * state machine reads it through `NodeStanding` and reports node events to it; the Region object
 * feeds it judgements and writes what changed under the `rep:` and `verif:` keys.
 */
export class RegionStanding implements NodeStanding {
  readonly metrics = new NodeMetricsStore();

  constructor(
    readonly book: ReputationBook,
    readonly desk: VerificationDesk,
    private readonly requireVerified = true,
  ) {}

  /** From the `rep:` and `verif:` records in storage, keyed by node id. */
  static restore(
    reputations: Record<string, ReputationState>,
    verifications: Record<string, NodeVerification>,
    requireVerified: boolean,
    policy: Partial<ReputationPolicy> = {},
  ): RegionStanding {
    return new RegionStanding(
      ReputationBook.from(reputations, policy),
      VerificationDesk.from(verifications, { requireVerified }),
      requireVerified,
    );
  }

  eligible(nodeId: string, now: number): boolean {
    return this.book.eligible(nodeId, now) && this.desk.eligibleForWork(nodeId);
  }

  reputation(nodeId: string, now: number): number | undefined {
    return this.book.score(nodeId, now);
  }

  verifiedTflops(nodeId: string): number | undefined {
    return this.desk.verifiedTflops(nodeId);
  }

  listedModels(nodeId: string): ReadonlyMap<string, string> | undefined {
    return this.desk.listedModels(nodeId);
  }

  attested(nodeId: string): boolean {
    return this.desk.attested(nodeId);
  }

  healthFactor(node: NodeRecord): number {
    return this.health(node.id, node).penalty;
  }

  /** The node's health from its metrics; its record says which GPU tier each index is. */
  health(nodeId: string, node: NodeRecord | undefined): ReturnType<NodeMetricsStore["health"]> {
    return this.metrics.health(nodeId, (index) => {
      const model = node?.hardware.gpus.find((gpu) => gpu.index === index)?.model;
      return model === undefined ? undefined : gpuModelById(model)?.tier;
    });
  }

  /** Records new metrics; true when the node's health changed (so its placement score must too). */
  addMetrics(node: NodeRecord, metrics: NodeMetrics): boolean {
    const before = this.health(node.id, node);
    this.metrics.add(node.id, metrics);
    const after = this.health(node.id, node);
    return before.penalty !== after.penalty;
  }

  /** Liveness transitions, attempt outcomes and acknowledgements, as the state machine reports them. */
  observe(event: NodeEvent): void {
    switch (event.kind) {
      case "online":
      case "offline":
      case "flap":
        this.book.record(event.nodeId, { type: event.kind }, event.at);
        break;
      case "ack":
        this.book.record(
          event.nodeId,
          { type: "acknowledged", assignedAt: event.at - event.latencyMs },
          event.at,
        );
        break;
      case "attempt":
        this.book.record(
          event.nodeId,
          {
            type: "attempt",
            end: event.end,
            ...(event.incident === undefined ? {} : { incident: event.incident }),
          },
          event.at,
        );
        break;
    }
  }

  /**
   * A verification judgement also counts for (or against) the node's reputation. Where the region
   * does not require verified GPUs (local development, trusted fleets), a node that never ran the
   * benchmark — a missed deadline — is not punished for it; a wrong answer still is.
   */
  judged(judgement: VerificationJudgement, now: number): void {
    const missed = judgement.reasons.some((reason) => reason.code === "deadline_missed");
    if (missed && !this.requireVerified) return;
    this.book.record(judgement.nodeId, { type: "verification", outcome: judgement.outcome }, now);
  }

  /** Storage entries owed since the last call. */
  takeChanges(): { puts: [string, unknown][]; deletes: string[] } {
    const rep = this.book.takeChanges();
    const ver = this.desk.takeChanges();
    return {
      puts: [
        ...Object.entries(rep.puts).map(([id, state]): [string, unknown] => [
          STORAGE_KEYS.reputation + id,
          state,
        ]),
        ...Object.entries(ver.puts).map(([id, state]): [string, unknown] => [
          STORAGE_KEYS.verification + id,
          state,
        ]),
      ],
      deletes: [
        ...rep.deletes.map((id) => STORAGE_KEYS.reputation + id),
        ...ver.deletes.map((id) => STORAGE_KEYS.verification + id),
      ],
    };
  }
}
