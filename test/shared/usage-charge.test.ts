import { describe, expect, it } from "vitest";
import { meter } from "../../src/ledger/meter.js";
import { usageStatement } from "../../src/shared/receipts/usage-statement.js";

const ids = { jobId: "job_1", attemptId: "att_1", nodeId: "node_1" };

/** What the agent signs and what the ledger meters per second, for the same start, end and price. */
function both(input: { ms: number; gpus: number; price: number; cpu?: number }) {
  const statement = usageStatement({
    ...ids,
    startedAt: 1_000,
    endedAt: 1_000 + input.ms,
    gpus: input.gpus,
    pricePerGpuHourMicros: input.price,
    cpuHourMicros: input.cpu,
  });
  const charge = meter({
    startedAt: 1_000,
    endedAt: 1_000 + input.ms,
    gpus: input.gpus,
    pricePerGpuHourMicros: input.price,
    ...(input.cpu === undefined ? {} : { cpuHourMicros: input.cpu }),
    mode: "per_second",
  });
  return { statement, charge };
}

describe("the agent's usage statement and the ledger's charge are one rule", () => {
  it("a CPU-only attempt: 90 s at 90,168 µUSD an hour is 2,254.2, both say 2,255", () => {
    const { statement, charge } = both({ ms: 90_000, gpus: 0, price: 0, cpu: 90_168 });
    expect(charge.amountMicros).toBe(2_255);
    expect(statement.amountMicros).toBe(2_255);
  });

  it("a GPU attempt of 90.4 s at 3.333333/h: both bill 91 s, 84,260 µUSD (84,259.25 up)", () => {
    const { statement, charge } = both({ ms: 90_400, gpus: 1, price: 3_333_333 });
    expect(charge).toEqual({ billableSeconds: 91, amountMicros: 84_260 });
    expect(statement).toMatchObject({ gpuSeconds: 91, amountMicros: 84_260 });
  });

  it("agree to the µUSD over durations, GPU counts and prices, GPU and CPU-only", () => {
    let compared = 0;
    for (const ms of [0, 1, 999, 1_000, 1_001, 59_999, 90_400, 3_599_999, 86_400_001, 7 * 86_400_000])
      for (const gpus of [0, 1, 3, 8])
        for (const price of [1, 7_777, 1_234_567, 3_600_000, 99_999_999]) {
          const cpu = gpus === 0 ? price : undefined;
          const { statement, charge } = both({ ms, gpus, price: gpus === 0 ? 0 : price, cpu });
          expect(statement.amountMicros, `${ms} ms, ${gpus} GPUs at ${price}`).toBe(charge.amountMicros);
          expect(statement.gpuSeconds).toBe(charge.billableSeconds * gpus);
          compared++;
        }
    expect(compared).toBe(200);
  });
});
