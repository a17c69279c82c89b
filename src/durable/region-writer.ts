import type { Effects } from "./effects.js";
import type { Outbox } from "./outbox.js";
import { writeEntries } from "./storage-writes.js";

/** What a step left to write, and when the object must wake next, as the writer is told. */
export interface Step {
  effects: Effects;
  /** The standing's changed entries (reputation, verification). */
  standing: { puts: [string, unknown][]; deletes: string[] };
  /** The earliest time something timed is due (leases, retries, challenge deadlines); null if none. */
  nextWakeAt: (now: number) => number | null;
}

/**
 * The Region object's writes after each step: the staged entries and their outbox records in one
 * atomic storage write, then the outbox sent to D1 (a failure is retried by the alarm), then the
 * alarm armed for the earliest thing due.
 */
export class RegionWriter {
  private alarmAt: number | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly outbox: Outbox,
    private readonly sweepMs: number,
    private readonly region: () => string,
  ) {}

  async load(): Promise<void> {
    await this.outbox.load();
    this.alarmAt = await this.storage.getAlarm();
  }

  /** The alarm fired: the next one must be armed again. */
  alarmFired(): void {
    this.alarmAt = null;
  }

  /**
   * Calls made without an await between them commit atomically, so a state change and the outbox
   * entries that record it land together or not at all. Returns what the step's answer waits for
   * in D1: the outbox entries numbered below it, or null when the step recorded nothing for D1.
   */
  async write(step: Step): Promise<number | null> {
    const { effects, standing } = step;
    const puts: [string, unknown][] = [...effects.puts, ...standing.puts];
    for (const [key, value] of Object.entries(this.outbox.entries(...effects.outbox)))
      puts.push([key, value]);
    const through = effects.outbox.length > 0 ? this.outbox.tail() : null;
    await writeEntries(this.storage, puts, [...effects.deletes, ...standing.deletes]);
    return through;
  }

  /**
   * Sends D1 what the step depends on, then arms the alarm. `through` is what `write` returned: a
   * step waits for its own records (and, the outbox being ordered, those queued before them), not
   * for records other steps queue after it; a step that recorded nothing waits for nothing, and
   * only starts sending what is pending (records staged before a restart, say). `"all"`: everything
   * pending (the alarm, which retries failed flushes).
   */
  async flushAndArm(step: Step, through: number | "all" | null): Promise<void> {
    if (through !== null) await this.flushLogged(through === "all" ? this.outbox.tail() : through);
    else if (this.outbox.pending() > 0) void this.flushLogged(this.outbox.tail());
    const now = Date.now();
    let next = step.nextWakeAt(now);
    if (this.outbox.pending() > 0) next = Math.min(next ?? Number.POSITIVE_INFINITY, now + this.sweepMs);
    if (next === null || (this.alarmAt !== null && this.alarmAt <= next)) return;
    this.alarmAt = next;
    await this.storage.setAlarm(next);
  }

  private async flushLogged(through: number): Promise<void> {
    try {
      await this.outbox.flush(through);
    } catch (error) {
      console.error(
        JSON.stringify({
          msg: "D1 flush failed; the alarm retries",
          region: this.region(),
          error: String(error),
        }),
      );
    }
  }
}
