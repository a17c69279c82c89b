import { describe, expect, it } from "vitest";
import { GPU_CATALOG, type GpuModel, gpuModelById } from "../../src/shared/gpu-catalog.js";
import { medianOf } from "../../src/shared/price-bounds.js";
import { PriceSuggestQuery, pricePerTflop, suggestPrice } from "../../src/shared/pricing.js";

function model(id: string): GpuModel {
  const found = gpuModelById(id);
  if (!found) throw new Error(`${id} is in the catalogue`);
  return found;
}

const H100 = model("H100-SXM");

describe("price suggestions", () => {
  it("suggests 60–80% below the cloud reference for typical inputs, for every catalogue part", () => {
    for (const entry of GPU_CATALOG) {
      const typical = entry.referencePriceMicrosPerHour * 0.3;
      const cases = [
        suggestPrice({ model: entry, offersMicros: [] }),
        suggestPrice({
          model: entry,
          offersMicros: [],
          utilization: 0.5,
          verifiedTflops: entry.bf16Tflops * 0.8,
        }),
        suggestPrice({
          model: entry,
          offersMicros: [typical * 0.9, typical, typical * 1.2],
          utilization: 0.6,
        }),
        suggestPrice({
          model: entry,
          offersMicros: [],
          utilization: 0.3,
          verifiedTflops: entry.bf16Tflops * 0.72,
        }),
      ];
      for (const suggestion of cases) {
        expect(suggestion.belowReference, entry.id).toBeGreaterThanOrEqual(0.6);
        expect(suggestion.belowReference, entry.id).toBeLessThanOrEqual(0.8);
        expect(Number.isInteger(suggestion.suggestedMicros)).toBe(true);
        expect(suggestion.suggestedMicros % 10_000).toBe(0);
        expect(suggestion.range.lowMicros).toBeLessThanOrEqual(suggestion.suggestedMicros);
        expect(suggestion.range.highMicros).toBeGreaterThanOrEqual(suggestion.suggestedMicros);
      }
    }
  });

  it("prices an H100 SXM at $1.28/h with no market, and explains each step", () => {
    const suggestion = suggestPrice({ model: H100, offersMicros: [] });
    expect(suggestion.suggestedMicros).toBe(1_280_000);
    expect(suggestion.referenceMicros).toBe(4_250_000);
    expect(suggestion.reasons.join("\n")).toMatch(/hyperscaler/);
    expect(suggestion.reasons.join("\n")).toMatch(/not verified yet/);
  });

  it("pays for verified performance above a typical part, and discounts a weak one", () => {
    const typical = suggestPrice({ model: H100, offersMicros: [], verifiedTflops: 791 });
    const strong = suggestPrice({ model: H100, offersMicros: [], verifiedTflops: 900 });
    const weak = suggestPrice({ model: H100, offersMicros: [], verifiedTflops: 700 });
    expect(strong.suggestedMicros).toBeGreaterThan(typical.suggestedMicros);
    expect(weak.suggestedMicros).toBeLessThan(typical.suggestedMicros);
  });

  it("follows the region's median offer once there are enough offers", () => {
    const alone = suggestPrice({ model: H100, offersMicros: [] });
    const cheapMarket = suggestPrice({
      model: H100,
      offersMicros: [900_000, 1_000_000, 1_000_000, 1_100_000],
    });
    const dearMarket = suggestPrice({ model: H100, offersMicros: [1_600_000, 1_700_000, 1_800_000] });
    const twoOffers = suggestPrice({ model: H100, offersMicros: [100_000, 100_000] });
    expect(cheapMarket.suggestedMicros).toBeLessThan(alone.suggestedMicros);
    expect(cheapMarket.marketMedianMicros).toBe(1_000_000);
    expect(dearMarket.suggestedMicros).toBeGreaterThan(alone.suggestedMicros);
    expect(twoOffers.suggestedMicros).toBe(alone.suggestedMicros);
  });

  it("raises the price when the region is busy and lowers it when idle", () => {
    const idle = suggestPrice({ model: H100, offersMicros: [], utilization: 0 });
    const half = suggestPrice({ model: H100, offersMicros: [], utilization: 0.5 });
    const busy = suggestPrice({ model: H100, offersMicros: [], utilization: 1 });
    expect(idle.suggestedMicros).toBeLessThan(half.suggestedMicros);
    expect(busy.suggestedMicros).toBeGreaterThan(half.suggestedMicros);
    expect(busy.suggestedMicros).toBe(1_530_000);
  });

  it("never goes below the floor, nor the provider's own, nor above half the cloud price", () => {
    const dumped = suggestPrice({
      model: H100,
      offersMicros: [10_000, 10_000, 10_000],
      utilization: 0,
      verifiedTflops: 400,
    });
    expect(dumped.suggestedMicros).toBe(430_000);
    expect(dumped.reasons.join("\n")).toMatch(/floor/);
    const ownFloor = suggestPrice({ model: H100, offersMicros: [], floorMicros: 2_000_000 });
    expect(ownFloor.suggestedMicros).toBe(2_000_000);
    expect(ownFloor.range.lowMicros).toBe(2_000_000);
    const gouged = suggestPrice({ model: H100, offersMicros: [9e6, 9e6, 9e6], utilization: 1 });
    expect(gouged.suggestedMicros).toBe(2_120_000);
    expect(gouged.range.highMicros).toBe(2_120_000);
  });
});

describe("price per verified TFLOP", () => {
  it("is whole µUSD per TFLOP-hour, and absent without a figure", () => {
    expect(pricePerTflop(1_280_000, 790)).toBe(1620);
    expect(pricePerTflop(1_280_000, undefined)).toBeUndefined();
    expect(pricePerTflop(1_280_000, 0)).toBeUndefined();
    expect(pricePerTflop(1_280_000, Number.NaN)).toBeUndefined();
  });

  it("takes the median of odd and even lists", () => {
    expect(medianOf([])).toBeNull();
    expect(medianOf([3, 1, 2])).toBe(2);
    expect(medianOf([4, 1, 2, 3])).toBe(2.5);
  });
});

describe("the suggest query", () => {
  it("accepts a catalogue model and a region, and refuses anything else", () => {
    const ok = PriceSuggestQuery.safeParse({ gpu: "H100-SXM", region: "eu-west", verifiedTflops: "790" });
    expect(ok.success && ok.data.gpu.id).toBe("H100-SXM");
    expect(ok.success && ok.data.verifiedTflops).toBe(790);
    for (const bad of [
      { gpu: "GTX-9999", region: "eu-west" },
      { region: "eu-west" },
      { gpu: "H100-SXM" },
      { gpu: "H100-SXM", region: "EU WEST" },
      { gpu: "H100-SXM", region: "eu-west", verifiedTflops: "-1" },
      { gpu: "H100-SXM", region: "eu-west", floor: "cheap" },
      { gpu: "H100-SXM", region: "eu-west", extra: "1" },
    ]) {
      expect(PriceSuggestQuery.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
