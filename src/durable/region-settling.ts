import type { Staging } from "./effects.js";
import type { FairShare } from "./fair-share.js";
import type { JobBook } from "./job-book.js";
import { avoidanceToLift } from "./lost-node-avoidance.js";
import type { NodeStanding } from "./node-standing.js";
import type { RegionJobs } from "./region-jobs.js";
import type { RegionNodes } from "./region-nodes.js";
import { demandFromSpec, demandUnits, type Scheduler } from "./scheduler/index.js";

/** What the settling loop reads and moves: the state's parts, handed in once. */
export interface SettlingParts {
  staging: Staging;
  standing: NodeStanding;
  nodeBook: RegionNodes;
  book: JobBook;
  lifecycle: RegionJobs;
  scheduler: Scheduler<string>;
  fairShare: FairShare;
}

/**
 * The loop that ends every step of the region's state machine: node events reach the standing,
 * nodes they touched are re-indexed (a quarantined node before anything else is placed), then one
 * scheduling pass when something may now fit; a placement raises no node events, so this ends.
 */
export class Settling {
  constructor(private readonly parts: SettlingParts) {}

  settle(now: number): void {
    const { staging, standing, nodeBook } = this.parts;
    for (;;) {
      const events = staging.takeEvents();
      for (const event of events) standing.observe(event);
      for (const nodeId of new Set(events.map((event) => event.nodeId))) nodeBook.refresh(nodeId, now);
      if (!staging.schedulePass) return;
      staging.schedulePass = false;
      this.schedule(now);
    }
  }

  /** One scheduling pass: every queued job that fits now gets its placement (all nodes, or none). */
  private schedule(now: number): void {
    const { scheduler, book, lifecycle, fairShare } = this.parts;
    for (const { job: queued, placement } of scheduler.schedule()) {
      const job = book.jobs.get(queued.payload);
      if (!job) {
        scheduler.inventory.release(queued.id);
        continue;
      }
      fairShare.record(job.accountId, demandUnits(demandFromSpec(job.spec)), now);
      lifecycle.place(job, placement, now);
    }
    // Re-queued without the avoidance, they get the next pass of the settling loop.
    for (const job of avoidanceToLift(book.jobs.values(), scheduler, now)) lifecycle.liftAvoidance(job, now);
  }
}
