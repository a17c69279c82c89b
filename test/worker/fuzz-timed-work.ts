import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { shardStubs } from "../../src/worker/region-routing.js";

/** A case may not start this close before timed work the fuzz itself set up comes due. */
const GUARD_MS = 2_000;
/** How long past its time the work is given to have run and reached D1 (the alarm runs it; here too). */
const SETTLE_MS = 1_500;

/**
 * Timed work that the fuzz's own accepted requests set up, kept out of the per-case "a 4xx
 * changes nothing stored" comparison. An accepted `POST /v1/jobs/:id/pause` with `keepForSeconds`
 * (at least 60 s) ends the paused job at that time, from the Region object's alarm: the job is
 * cancelled and its hold released, a ledger transfer written between two later cases, whatever
 * they were. Before each case the fuzz asks `settle`: when such an expiry is near, it waits until
 * the expiry has run (the alarm is run again here, in case it came late) and the caller takes its
 * snapshot after it. Nothing else is excused: a change during a refused case is still a failure.
 *
 * (The other timed work a Region object does on its own, losing attempts whose lease lapsed,
 * cannot arise: the fuzz's nodes say they take no work, so nothing is ever placed.)
 */
export class FuzzTimedWork {
  private readonly due: { from: number; until: number }[] = [];

  /** An accepted pause, sent at `sentAt` and answered at `answeredAt`, with the body it was sent. */
  paused(body: string | undefined, sentAt: number, answeredAt: number): void {
    let keep: unknown;
    try {
      keep = (JSON.parse(body ?? "{}") as { keepForSeconds?: unknown }).keepForSeconds;
    } catch {
      return;
    }
    // Without one the deployment's default (a week) applies: it never comes due within a run.
    if (typeof keep !== "number" || !Number.isFinite(keep) || keep > 86_400) return;
    this.due.push({ from: sentAt + keep * 1000, until: answeredAt + keep * 1000 });
  }

  /** Waits out timed work due within GUARD_MS; true when it waited (the caller takes a new snapshot). */
  async settle(): Promise<boolean> {
    const now = Date.now();
    const near = this.due.filter((work) => work.from <= now + GUARD_MS);
    if (near.length === 0) return false;
    const until = Math.max(...near.map((work) => work.until)) + SETTLE_MS;
    if (until > now) await new Promise((resolve) => setTimeout(resolve, until - now));
    const regions = (JSON.parse(String(env.REGIONS)) as { id: string }[]).flatMap((region) =>
      shardStubs(env, region.id),
    );
    for (const stub of regions) await runDurableObjectAlarm(stub);
    for (const work of near) this.due.splice(this.due.indexOf(work), 1);
    return true;
  }
}
