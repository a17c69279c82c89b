import type { Clock } from "../../src/durable/clock.js";
import type { NodeEvent } from "../../src/durable/effects.js";
import { timingOf } from "../../src/durable/lease.js";
import type { NodeStanding } from "../../src/durable/node-standing.js";
import { composeRegion } from "../../src/durable/region-compose.js";
import type { JobRecord, NodeRecord } from "../../src/durable/region-records.js";
import type { RegionSnapshot, RegionState } from "../../src/durable/region-state.js";
import { timeoutRunLimit } from "../../src/durable/run-limits.js";
import { ledgerConfig } from "../../src/ledger/ledger-config.js";
import { JobSpec } from "../../src/shared/job-spec.js";

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  constructor(public at = 1_800_000_000_000) {}
  now(): number {
    return this.at;
  }
  advance(ms: number): number {
    this.at += ms;
    return this.at;
  }
}

/** A standing that records what it was told and bars the nodes the test names. */
export class RecordingStanding implements NodeStanding {
  readonly events: NodeEvent[] = [];
  readonly barred = new Set<string>();
  /** Bars a node as soon as it loses an attempt (as a quarantine would). */
  barOnLoss = false;
  eligible(nodeId: string): boolean {
    return !this.barred.has(nodeId);
  }
  reputation(): number | undefined {
    return undefined;
  }
  verifiedTflops(): number | undefined {
    return undefined;
  }
  healthFactor(): number {
    return 1;
  }
  observe(event: NodeEvent): void {
    this.events.push(event);
    if (this.barOnLoss && event.kind === "attempt" && event.end === "lost") this.barred.add(event.nodeId);
  }
}

export const TIMING = timingOf({ POLL_WAIT_MS: "1000", LEASE_TTL_MS: "3000", NODE_GRACE_MS: "3000" });

export function region(
  clock: FakeClock,
  standing: NodeStanding = new RecordingStanding(),
  snapshot?: RegionSnapshot,
): RegionState {
  return composeRegion(
    "eu-west",
    { clock, timing: TIMING, standing, runLimit: timeoutRunLimit, fees: ledgerConfig({}) },
    snapshot,
  );
}

export function gpuNode(id: string, price = 1_000_000): NodeRecord {
  return {
    id,
    publicKey: `pk-${id}`,
    region: "eu-west",
    hardware: {
      gpus: [
        { index: 0, uuid: `GPU-${id}`, name: "NVIDIA H100 80GB HBM3", vramMib: 81559, model: "H100-SXM" },
      ],
      cpus: 16,
      memoryMib: 65536,
      diskFreeMib: 100_000,
      os: "linux",
      arch: "x64",
    },
    pricePerGpuHourMicros: price,
    labels: {},
    agentVersion: "test",
    runtime: "docker",
    registeredAt: 0,
  };
}

export function gpuJob(id: string, createdAt: number, extra: Record<string, unknown> = {}): JobRecord {
  return {
    id,
    accountId: "acct_test",
    spec: JobSpec.parse({
      name: id,
      image: "meridian/busybox:test",
      resources: { gpus: 1 },
      maxPricePerGpuHour: "5.00",
      timeoutSeconds: 600,
      ...extra,
    }),
    status: "queued",
    seq: 1,
    attempts: 0,
    members: [],
    excludedNodes: [],
    createdAt,
    retryAt: null,
    spentMicros: 0,
  };
}
