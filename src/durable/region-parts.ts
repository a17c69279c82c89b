import type { FeeConfig } from "../ledger/ledger-config.js";
import type { Clock } from "./clock.js";
import type { FairShare } from "./fair-share.js";
import type { LeasePolicy } from "./lease.js";
import type { NodeStanding } from "./node-standing.js";
import type { JobRecord, NodeRecord } from "./region-records.js";
import type { RunLimit } from "./run-limits.js";
import type { Scheduler } from "./scheduler/index.js";

/** The parts a region's state machine is made of, chosen once by whoever builds it. */
export interface RegionParts {
  clock: Clock;
  lease: LeasePolicy;
  runLimit: RunLimit;
  /** Reputation, verification and health: what makes a node eligible, and how it scores. */
  standing: NodeStanding;
  scheduler: Scheduler<string>;
  /** The queue's memory of each account's recent use (the scheduler reads it too). */
  fairShare: FairShare;
  fees: FeeConfig;
}

/** What storage held when the object started. */
export interface RegionSnapshot {
  fencing: number;
  nodes: Iterable<NodeRecord>;
  jobs: Iterable<JobRecord>;
}
