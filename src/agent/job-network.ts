import { createHash } from "node:crypto";
import type Docker from "dockerode";
import { FirewallError, HostFirewall } from "./host-firewall.js";
import type { EgressPolicy, IsolationConfig } from "./policy/isolation-policy.js";

/** Labels on every job network, so a restarted agent (or a test) finds its own and only its own. */
export const NETWORK_LABELS = {
  job: "meridian.job",
  attempt: "meridian.attempt",
  node: "meridian.node",
  egress: "meridian.egress",
} as const;

export interface JobNetwork {
  name: string;
  /** The Linux bridge behind it (≤ 15 characters, derived from the attempt id). */
  bridge: string;
  subnet: string;
  gateway: string;
  egress: EgressPolicy;
}

export interface JobNetworkOwner {
  jobId: string;
  attemptId: string;
  nodeId: string;
}

export function jobNetworkName(attemptId: string): string {
  return `meridian-net-${attemptId}`;
}

/** A stable bridge name per attempt: "mrd" and 12 hex digits, inside Linux's 15-character limit. */
export function jobBridgeName(attemptId: string): string {
  return `mrd${createHash("sha256").update(attemptId).digest("hex").slice(0, 12)}`;
}

/**
 * One bridge network per attempt, created before its container and removed after it. Each is a
 * /28 of `subnetPool` (a hash of the attempt id picks where to start looking, so concurrent agents
 * rarely collide, and a collision just moves on): Docker's default pools hold about 30 networks,
 * far fewer than the jobs a busy host runs at once.
 */
export class JobNetworks {
  private readonly firewall: HostFirewall | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly policy: Pick<IsolationConfig, "egress" | "firewall" | "subnetPool">,
    private readonly extraLabels: Record<string, string> = {},
  ) {
    this.firewall = policy.firewall === "iptables" ? new HostFirewall() : undefined;
  }

  async create(owner: JobNetworkOwner): Promise<JobNetwork> {
    const name = jobNetworkName(owner.attemptId);
    const bridge = jobBridgeName(owner.attemptId);
    const egress = this.policy.egress;
    // A network of this attempt survived an earlier try (an agent killed mid-start): start clean.
    await this.release(owner.attemptId);
    const subnets = candidateSubnets(this.policy.subnetPool, owner.attemptId);
    for (let tries = 0; tries < 64; tries++) {
      const candidate = subnets.next();
      if (candidate.done) break;
      const { subnet, gateway } = candidate.value;
      try {
        await this.docker.createNetwork({
          Name: name,
          Driver: "bridge",
          CheckDuplicate: true,
          // `none`: no route off the host at all, enforced by Docker as well as by the firewall.
          Internal: egress === "none",
          Labels: {
            ...this.extraLabels,
            [NETWORK_LABELS.job]: owner.jobId,
            [NETWORK_LABELS.attempt]: owner.attemptId,
            [NETWORK_LABELS.node]: owner.nodeId,
            [NETWORK_LABELS.egress]: egress,
          },
          Options: {
            "com.docker.network.bridge.name": bridge,
            "com.docker.network.bridge.enable_icc": "false",
          },
          IPAM: { Driver: "default", Config: [{ Subnet: subnet, Gateway: gateway }] },
        });
      } catch (error) {
        if (/overlap/i.test(errorText(error))) continue;
        throw error;
      }
      const network = { name, bridge, subnet, gateway, egress };
      if (this.firewall !== undefined) {
        try {
          await this.firewall.install({ bridge, egress, subnetPool: this.policy.subnetPool });
        } catch (error) {
          await this.removeNetwork(name);
          throw error;
        }
      }
      return network;
    }
    throw new FirewallError(`no free /28 left in ${this.policy.subnetPool} for a job network`);
  }

  /** Removes the attempt's network and its rules; a network already gone is fine. */
  async release(attemptId: string): Promise<void> {
    await this.firewall?.remove(jobBridgeName(attemptId));
    await this.removeNetwork(jobNetworkName(attemptId));
  }

  /**
   * Removes this node's job networks that no container uses any more, and every rule whose bridge
   * is gone; returns how many networks went.
   */
  async removeLeftovers(nodeId: string): Promise<number> {
    const networks = await this.docker.listNetworks({
      filters: { label: [`${NETWORK_LABELS.node}=${nodeId}`] },
    });
    let removed = 0;
    for (const info of networks) {
      const detail = await this.docker
        .getNetwork(info.Id)
        .inspect()
        .catch(() => undefined);
      const inUse = detail !== undefined && Object.keys(detail.Containers ?? {}).length > 0;
      const attemptId = info.Labels?.[NETWORK_LABELS.attempt];
      if (inUse || attemptId === undefined) continue;
      await this.release(attemptId);
      removed++;
    }
    await this.firewall?.removeOrphans();
    return removed;
  }

  private async removeNetwork(name: string): Promise<void> {
    try {
      await this.docker.getNetwork(name).remove();
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
}

/** /28 subnets of the pool, starting at one the attempt id picks and wrapping around. */
function* candidateSubnets(pool: string, attemptId: string): Generator<{ subnet: string; gateway: string }> {
  const [base = "10.213.0.0", prefixText = "16"] = pool.split("/");
  const prefix = Number(prefixText);
  const start = base.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
  const count = 2 ** (28 - prefix);
  const first = createHash("sha256").update(attemptId).digest().readUInt32BE(0) % count;
  for (let step = 0; step < count; step++) {
    const network = (start & ~(2 ** (32 - prefix) - 1)) + ((first + step) % count) * 16;
    yield { subnet: `${dotted(network)}/28`, gateway: dotted(network + 1) };
  }
}

function dotted(value: number): string {
  const unsigned = value >>> 0;
  return [24, 16, 8, 0].map((shift) => (unsigned >>> shift) & 255).join(".");
}

function statusOf(error: unknown): number | undefined {
  return typeof error === "object" &&
    error !== null &&
    "statusCode" in error &&
    typeof error.statusCode === "number"
    ? error.statusCode
    : undefined;
}

function errorText(error: unknown): string {
  if (typeof error === "object" && error !== null && "json" in error) {
    const json = error.json;
    if (typeof json === "object" && json !== null && "message" in json && typeof json.message === "string") {
      return json.message;
    }
  }
  return error instanceof Error ? error.message : String(error);
}
