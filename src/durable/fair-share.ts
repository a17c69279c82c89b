const HALF_LIFE_MS = 3_600_000;

/**
 * Each account's recently placed work, decayed with a one-hour half-life: the queue's memory for
 * fair share, so yesterday's flood does not count against an account today. Memory only.
 */
export class FairShare {
  private readonly recent = new Map<string, { units: number; at: number }>();

  of(accountId: string, now: number): number {
    const use = this.recent.get(accountId);
    return use ? use.units * 0.5 ** ((now - use.at) / HALF_LIFE_MS) : 0;
  }

  record(accountId: string, units: number, now: number): void {
    this.recent.set(accountId, { units: this.of(accountId, now) + units, at: now });
  }
}
