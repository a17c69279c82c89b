/**
 * The one per-second rule, shared by the ledger's meter and the agent's signed usage statement, so
 * a statement states exactly what the ledger charges for the same start, end and hourly rate:
 * elapsed ms → whole seconds rounded up; µUSD = ⌈seconds × rate / 3600⌉ (always up, so a provider
 * is never paid for less than used). Bigint inside: seconds × price × GPUs passes 2^53 for long,
 * pricey, wide jobs.
 */
export function perSecondCharge(
  elapsedMs: number,
  perHourMicros: bigint,
): { seconds: number; micros: bigint } {
  const seconds = Math.ceil(Math.max(0, elapsedMs) / 1000);
  return { seconds, micros: (BigInt(seconds) * perHourMicros + 3599n) / 3600n };
}

/** µUSD per hour of an attempt: its GPUs at their price, plus its CPUs and memory when it has no GPU. */
export function hourlyRate(input: {
  pricePerGpuHourMicros: number;
  gpus: number;
  cpuHourMicros?: number | undefined;
}): bigint {
  return BigInt(input.pricePerGpuHourMicros) * BigInt(input.gpus) + BigInt(input.cpuHourMicros ?? 0);
}
