import { describe, expect, it } from "vitest";
import { EARLY_FAILURE_MS, meterAttempt } from "../../src/ledger/attempt-meter.js";

const base = { startedAt: 0, pricePerGpuHourMicros: 3_600_000, gpus: 2 };

describe("metering an attempt by how it ended", () => {
  it("charges an early failure per second in every mode, never more than the mode itself", () => {
    // 90 s at 3.60/h × 2 GPUs = 180,000 µUSD, where an hour would be 7,200,000.
    const early = { ...base, endedAt: 90_000 };
    expect(meterAttempt({ ...early, mode: "hourly" }, "failed")).toEqual({
      billableSeconds: 90,
      amountMicros: 180_000,
    });
    expect(meterAttempt({ ...early, mode: "daily" }, "failed").amountMicros).toBe(180_000);
    // A fixed task price below the seconds stays the cap.
    expect(
      meterAttempt({ ...early, mode: "per_task", fixedPriceMicros: 50_000 }, "failed").amountMicros,
    ).toBe(50_000);
    expect(
      meterAttempt({ ...early, mode: "per_task", fixedPriceMicros: 500_000 }, "failed").amountMicros,
    ).toBe(180_000);
  });

  it("leaves successes, cancellations and late failures to their mode", () => {
    const early = { ...base, endedAt: 90_000 };
    expect(meterAttempt({ ...early, mode: "hourly" }, "succeeded").amountMicros).toBe(7_200_000);
    expect(meterAttempt({ ...early, mode: "hourly" }, "cancelled").amountMicros).toBe(7_200_000);
    const late = { ...base, endedAt: EARLY_FAILURE_MS };
    expect(meterAttempt({ ...late, mode: "hourly" }, "failed").amountMicros).toBe(7_200_000);
  });

  it("bills nothing when the container never started", () => {
    expect(
      meterAttempt({ ...base, startedAt: null, endedAt: 5, mode: "hourly" }, "failed").amountMicros,
    ).toBe(0);
  });
});
