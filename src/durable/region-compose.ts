import type { FeeConfig } from "../ledger/ledger-config.js";
import type { Clock } from "./clock.js";
import { FairShare } from "./fair-share.js";
import { LeasePolicy, type Timing } from "./lease.js";
import type { NodeStanding } from "./node-standing.js";
import { type RegionSnapshot, RegionState } from "./region-state.js";
import type { RunLimit } from "./run-limits.js";
import { Scheduler } from "./scheduler/index.js";

export interface RegionChoices {
  clock: Clock;
  timing: Timing;
  standing: NodeStanding;
  runLimit: RunLimit;
  fees: FeeConfig;
}

const EMPTY: RegionSnapshot = { fencing: 0, nodes: [], jobs: [] };

/**
 * A region's state machine, assembled once from its parts: the scheduler reads time from the same
 * clock as every step, and the queue's fair-share memory is one part both of them hold.
 */
export function composeRegion(
  name: string,
  choices: RegionChoices,
  snapshot: RegionSnapshot = EMPTY,
): RegionState {
  const { clock } = choices;
  const fairShare = new FairShare();
  const scheduler = new Scheduler<string>({
    clock,
    history: (account) => fairShare.of(account, clock.now()),
  });
  return new RegionState(
    name,
    {
      clock,
      lease: new LeasePolicy(choices.timing),
      runLimit: choices.runLimit,
      standing: choices.standing,
      scheduler,
      fairShare,
      fees: choices.fees,
    },
    snapshot,
  );
}
