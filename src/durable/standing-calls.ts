import type { NodeMetrics } from "../shared/agent-protocol.js";
import { MeridianError } from "../shared/errors.js";
import type { StakeTier } from "../shared/staking-api.js";
import type { NodeHealth } from "./node-metrics.js";
import type { RegionContext } from "./region-context.js";
import type { NodeRecord } from "./region-records.js";
import { type ProviderNodeView, providerNodeView } from "./region-views.js";
import type { ReputationView } from "./reputation/index.js";

/**
 * A node's standing as its provider and the operator see and change it: the provider's view, its
 * metrics and health, an operator's lift, and what the Worker found about it elsewhere (a GPU twin
 * in another region, charged attempts the refund sweep blames on it). A change re-indexes the node.
 */
export class StandingCalls {
  constructor(private readonly region: () => RegionContext) {}

  /** What a provider sees of its node: standing, verification, reputation with its parts, health, work. */
  async providerNode(nodeId: string): Promise<ProviderNodeView> {
    const { state, standing } = this.region();
    return providerNodeView(state, standing, nodeId, Date.now());
  }

  async metrics(nodeId: string): Promise<{ series: readonly NodeMetrics[]; health: NodeHealth }> {
    const region = this.region();
    const node = this.known(region, nodeId);
    return { series: region.standing.metrics.series(nodeId), health: region.standing.health(nodeId, node) };
  }

  /** An operator lifts a node's quarantine or expulsion. */
  async lift(nodeId: string): Promise<ReputationView> {
    const region = this.region();
    const now = Date.now();
    this.known(region, nodeId);
    const view = region.standing.book.lift(nodeId, now);
    // A node delisted for a failed verification gets a fresh chance to prove its GPUs.
    region.standing.desk.requestVerification(nodeId, now);
    region.waiters.wake(nodeId);
    region.state.standingChanged([nodeId], now);
    await region.save();
    return view;
  }

  /**
   * The Worker found GPU `uuid` of `nodeId` also on `twin`, a node of another region. Answers
   * whether this region knows the node and GPU (a node it forgot is no twin); if so the GPU turns
   * suspect and the node may take no work until the operator lifts it.
   */
  async foreignTwin(
    nodeId: string,
    uuid: string,
    twin: { nodeId: string; region: string },
  ): Promise<{ known: boolean }> {
    const region = this.region();
    if (!region.state.nodes.has(nodeId)) return { known: false };
    const known = region.standing.desk.markForeignTwin(nodeId, uuid, twin);
    if (known) {
      region.state.standingChanged([nodeId], Date.now());
      await region.save();
    }
    return { known };
  }

  /**
   * The refund sweep found `count` failed attempts of this node its fault (the same spec then
   * succeeded elsewhere, or its pull failed where other nodes pulled the image): each counts
   * against the node as an agent error would.
   */
  async faultFound(nodeId: string, count: number): Promise<ReputationView> {
    const region = this.region();
    const now = Date.now();
    this.known(region, nodeId);
    for (let i = 0; i < count; i++)
      region.standing.book.record(nodeId, { type: "attempt", end: "agent_error" }, now);
    region.state.standingChanged([nodeId], now);
    await region.save();
    return region.standing.book.view(nodeId, now);
  }

  /** The node's stake earns `tier` now (the Worker tells after a deposit, unstake or slash). */
  async restake(nodeId: string, tier: StakeTier): Promise<{ known: boolean }> {
    const region = this.region();
    if (!region.state.nodes.has(nodeId)) return { known: false };
    if (region.state.restake(nodeId, tier, Date.now())) await region.save();
    return { known: true };
  }

  private known(region: RegionContext, nodeId: string): NodeRecord {
    const node = region.state.nodes.get(nodeId);
    if (!node) throw new MeridianError(404, "node_not_found", `no node ${nodeId}`);
    return node;
  }
}
