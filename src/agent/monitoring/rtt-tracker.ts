/**
 * Round-trip time to the control plane as a moving median of the last few probes: a median, so one
 * slow probe (a GC pause, a retransmit) does not move a figure the scheduler uses for locality.
 */
export class RttTracker {
  private readonly samples: number[] = [];

  constructor(private readonly size = 5) {}

  add(rttMs: number): void {
    this.samples.push(rttMs);
    if (this.samples.length > this.size) this.samples.shift();
  }

  /** The median in whole milliseconds; undefined before the first probe. */
  get medianMs(): number | undefined {
    if (this.samples.length === 0) return undefined;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    const value =
      sorted.length % 2 === 1
        ? (sorted[middle] ?? 0)
        : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
    return Math.min(60_000, Math.round(value));
  }
}
