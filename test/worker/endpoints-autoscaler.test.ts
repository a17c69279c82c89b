import { describe, expect, it } from "vitest";
import { decideScale, type LoadSample, type ScaleInput } from "../../src/durable/endpoints/autoscaler.js";
import { EndpointScaling } from "../../src/shared/endpoints/endpoint-spec.js";

const T0 = 1_800_000_000_000;
const scaling = EndpointScaling.parse({
  targetConcurrency: 2,
  scaleUpWindowSeconds: 10,
  scaleDownWindowSeconds: 60,
  idleSecondsToZero: 120,
  queueDelaySeconds: 4,
});

/** A per-second trace: concurrency `load(t)` for seconds t in [from, to). */
function trace(from: number, to: number, load: (t: number) => number, queueDelayMs = 0): LoadSample[] {
  const out: LoadSample[] = [];
  for (let t = from; t < to; t++) {
    const concurrency = load(t);
    if (concurrency > 0) out.push({ at: T0 + t * 1000, concurrency, queueDelayMs, arrivals: concurrency });
  }
  return out;
}

function input(over: Partial<ScaleInput>): ScaleInput {
  return {
    now: T0,
    current: 1,
    min: 0,
    max: 8,
    scaling,
    samples: [],
    lastRequestAt: T0,
    waiting: 0,
    lastChangeAt: T0 - 3_600_000,
    ...over,
  };
}

describe("the autoscaler on synthetic traces", () => {
  it("ignores a single blip: no scale-up, and the cool-down is not reset by it", () => {
    const samples = trace(0, 200, (t) => (t === 150 ? 40 : 1));
    const at150 = decideScale(input({ now: T0 + 150_000, current: 1, samples, lastRequestAt: T0 + 150_000 }));
    expect(at150.desired).toBe(1);
    // Four replicas after an earlier surge; the lone busy second inside the down window does not hold them up.
    const down = decideScale(
      input({ now: T0 + 199_000, current: 4, samples, lastRequestAt: T0 + 199_000, lastChangeAt: T0 }),
    );
    expect(down.desired).toBe(1);
    expect(down.reason).toContain("stayed under");
  });

  it("follows a ramp up quickly, once the load has held for the up window", () => {
    const samples = trace(0, 60, (t) => Math.min(12, Math.floor(t / 4)));
    const early = decideScale(input({ now: T0 + 8_000, samples }));
    expect(early.desired).toBe(1);
    const later = decideScale(input({ now: T0 + 59_000, samples }));
    expect(later.desired).toBe(6);
    expect(later.reason).toContain("over target 2 per replica");
    expect(decideScale(input({ now: T0 + 59_000, samples, max: 3 })).desired).toBe(3);
  });

  it("adds a replica when requests queue past the queue delay for most of the window", () => {
    const samples = trace(0, 30, () => 1, 6_000);
    const d = decideScale(input({ now: T0 + 29_000, current: 1, samples }));
    expect(d.desired).toBe(2);
    expect(d.reason).toContain("queued");
  });

  it("scales down only after the cool-down since the last change", () => {
    const samples = trace(0, 120, (t) => (t < 30 ? 10 : 1));
    expect(
      decideScale(
        input({
          now: T0 + 119_000,
          current: 5,
          samples,
          lastChangeAt: T0 + 100_000,
          lastRequestAt: T0 + 119_000,
        }),
      ).desired,
    ).toBe(5);
    expect(
      decideScale(
        input({
          now: T0 + 119_000,
          current: 5,
          samples,
          lastChangeAt: T0 + 30_000,
          lastRequestAt: T0 + 119_000,
        }),
      ).desired,
    ).toBe(1);
  });

  it("goes to zero after the idle time with min 0, and never below min", () => {
    const samples = trace(0, 10, () => 1);
    expect(
      decideScale(input({ now: T0 + 100_000, current: 1, samples, lastRequestAt: T0 + 9_000 })).desired,
    ).toBe(1);
    const idle = decideScale(input({ now: T0 + 130_000, current: 1, samples, lastRequestAt: T0 + 9_000 }));
    expect(idle).toEqual({ desired: 0, reason: "idle for 120s: scaling to zero" });
    expect(
      decideScale(input({ now: T0 + 130_000, current: 1, min: 1, samples, lastRequestAt: T0 + 9_000 }))
        .desired,
    ).toBe(1);
    expect(decideScale(input({ current: 0, min: 2 })).desired).toBe(2);
  });

  it("starts a replica at once for a request waiting at zero (a cold start)", () => {
    const d = decideScale(input({ current: 0, waiting: 1, samples: trace(0, 1, () => 1) }));
    expect(d.desired).toBe(1);
    expect(d.reason).toContain("cold start");
  });
});
