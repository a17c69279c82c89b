/**
 * Exponential decay of evidence. Each sum is kept as of one instant and decayed forward when an
 * event arrives or a view is asked for, so a quiet node costs no writes: nothing changes between
 * events except the clock, and the clock is applied on read.
 */

/** What a quantity keeps of itself after `elapsedMs`, given its half-life. */
export function decayFactor(elapsedMs: number, halfLifeMs: number): number {
  return elapsedMs <= 0 ? 1 : 2 ** (-elapsedMs / halfLifeMs);
}

/**
 * A steady indicator (1 while true) integrated over the last `elapsedMs` and decayed to now:
 * ∫₀^Δ e^(−λt) dt = (1 − e^(−λΔ)) / λ, in milliseconds of decayed time.
 */
export function decayedSpanMs(elapsedMs: number, halfLifeMs: number): number {
  if (elapsedMs <= 0) return 0;
  const rate = Math.LN2 / halfLifeMs;
  return (1 - Math.exp(-rate * elapsedMs)) / rate;
}
