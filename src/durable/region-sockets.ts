import { RegionTunnels } from "./endpoints/region-tunnels.js";
import type { BoardReplica } from "./endpoints/replica-board.js";
import { replicaChanged } from "./endpoints/replica-notify.js";
import { admitSession } from "./poll-session.js";
import { acceptPresence, closedPresence, presenceCaller, silentPresences } from "./presence-sockets.js";
import { authenticate, type RegionContext } from "./region-context.js";
import { asResult } from "./rpc-result.js";

/**
 * The region's WebSockets: each node's presence socket (presence-sockets.ts; its close starts the
 * node's reconnect window) and the endpoint tunnels over it (endpoints/region-tunnels.ts), whose
 * replicas are the current attempts of endpoint jobs.
 */
export class RegionSockets {
  private readonly tunnels: RegionTunnels;

  constructor(
    private readonly ctx: DurableObjectState,
    env: Env,
    private readonly region: () => RegionContext,
  ) {
    this.tunnels = new RegionTunnels(
      ctx,
      (attemptId, nodeId, fencing) => {
        const current = this.region().state.currentAttempt(attemptId, nodeId, fencing);
        const service = current?.job.service;
        return current && service ? { endpointId: service.endpointId, jobId: current.job.id } : undefined;
      },
      (replica) => ctx.waitUntil(replicaChanged(env, this.region().state.region, replica)),
    );
  }

  /** A tunnel request from an endpoint, or a node's presence socket forwarded by the Worker after its checks. */
  async fetch(request: Request): Promise<Response> {
    if (RegionTunnels.isTunnelRequest(request)) return this.tunnels.forward(request);
    const caller = presenceCaller(request);
    if (!caller || request.headers.get("upgrade") !== "websocket") return new Response(null, { status: 400 });
    const region = this.region();
    const result = await asResult(async () => {
      const node = authenticate(region, caller, Date.now());
      admitSession(region.state.presence, node.id, caller.session, Date.now());
      return node;
    });
    if (!result.ok)
      return Response.json(
        { error: { code: result.code, message: result.message } },
        { status: result.status },
      );
    region.state.heard(result.value.id, Date.now());
    return acceptPresence(this.ctx, result.value.id);
  }

  /** Tunnel frames from the agent. */
  message(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    return this.tunnels.message(socket, message);
  }

  /** A socket closed or failed: its tunnel streams end, and a node left with no presence socket has its held polls dropped. */
  async closed(socket: WebSocket): Promise<void> {
    await this.tunnels.socketClosed(socket, this.ctx.getTags(socket)[0]);
    const nodeId = closedPresence(this.ctx, socket);
    const region = this.region();
    if (nodeId === undefined || !region.state.nodes.has(nodeId)) return;
    region.waiters.dropAll(nodeId);
    region.state.connectionLost(nodeId, Date.now());
    await region.save();
  }

  /**
   * Presence sockets that stopped pinging (a partition closes nothing) are closed and their nodes
   * treated as dropped, so the reconnect window starts within seconds instead of a lease later. The
   * caller saves (the alarm's sweep).
   */
  closeSilent(now: number): void {
    const region = this.region();
    for (const nodeId of silentPresences(this.ctx, now, region.timing.presenceSilenceMs)) {
      if (!region.state.nodes.has(nodeId)) continue;
      region.waiters.dropAll(nodeId);
      region.state.connectionLost(nodeId, now);
    }
  }

  /** An endpoint scales a replica away: it takes no new requests (the endpoint cancels it when idle). */
  drain(attemptId: string): Promise<boolean> {
    return this.tunnels.drain(attemptId);
  }

  /** An endpoint's replicas on this region's nodes, as their agents last reported them. */
  replicas(endpointId: string): Promise<BoardReplica[]> {
    return this.tunnels.replicas(endpointId);
  }
}
