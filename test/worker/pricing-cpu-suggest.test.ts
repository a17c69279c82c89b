import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CpuPriceSuggestionView } from "../../src/shared/cpu-price-suggestion.js";
import { authed, call, drainAgents, expectError, hardware, signup, TestAgent } from "./support.js";

/**
 * Issue 10: a suggested price per vCPU-hour, as GET /v1/pricing/suggest suggests one per GPU-hour:
 * the CPU table's $0.009483 (Google Cloud N2's $0.031611 at 30%) in whole hundredths of a cent,
 * blended with the region's median CPU offer once there are three.
 */
describe("GET /v1/pricing/cpu/suggest", () => {
  let apiKey = "";
  beforeAll(async () => {
    apiKey = (await signup()).apiKey;
  });
  afterAll(drainAgents);

  async function suggest(query: string): Promise<CpuPriceSuggestionView> {
    const res = await call(`/v1/pricing/cpu/suggest?${query}`, authed(apiKey));
    expect(res.status).toBe(200);
    return res.json();
  }

  async function cpuNode(region: string, pricePerVcpuHour?: string): Promise<void> {
    await new TestAgent().register(hardware([], 16, 65_536), {
      region,
      pricePerGpuHour: "0.00",
      ...(pricePerVcpuHour === undefined ? {} : { pricePerVcpuHour }),
    });
  }

  it("suggests the table's rate in a region with no offers, with its reasons", async () => {
    const view = await suggest("region=ap-southeast");
    expect(view).toMatchObject({
      region: "ap-southeast",
      currency: "USD",
      unit: "vCPU-hour",
      suggested: "0.0095",
      suggestedMicros: 9_500,
      range: { low: "0.0081", high: "0.0109", lowMicros: 8_100, highMicros: 10_900 },
      reference: "0.031611",
      referenceMicros: 31_611,
      tableRate: "0.009483",
      belowReference: 0.699,
      market: { offers: 0, median: null },
    });
    expect(view.reasons.join("\n")).toMatch(/too few for a market price/);
  });

  it("follows the region's live CPU offers, a node at the table's rate among them", async () => {
    for (const price of ["0.012", "0.014", "0.02"]) await cpuNode("us-west", price);
    const three = await suggest("region=us-west");
    // Halfway between the table's 0.009483 and the 0.014 median: 0.0117415, to 0.0117.
    expect(three).toMatchObject({ suggested: "0.0117", market: { offers: 3, median: "0.014" } });
    await cpuNode("us-west");
    // The table-priced node offers 0.009483: median of four 0.013, halfway 0.0112415.
    expect(await suggest("region=us-west")).toMatchObject({
      suggested: "0.0112",
      market: { offers: 4, median: "0.013" },
    });
  });

  it("never suggests below the provider's floor", async () => {
    const view = await suggest("region=ap-southeast&floor=0.02");
    expect(view).toMatchObject({ suggested: "0.02", range: { low: "0.02" } });
    expect(view.reasons.join("\n")).toMatch(/raised to the floor of \$0\.02/);
  });

  const bad: [string, string, number, string][] = [
    ["a negative floor", "region=eu-west&floor=-0.01", 400, "invalid_request"],
    ["an over-precise floor", "region=eu-west&floor=0.0000001", 400, "invalid_request"],
    ["a floor over $1 per vCPU-hour", "region=eu-west&floor=1.000001", 400, "invalid_request"],
    ["a floor that is not a price", "region=eu-west&floor=cheap", 400, "invalid_request"],
    ["no region", "floor=0.01", 400, "invalid_request"],
    ["an unknown region", "region=mars-north", 400, "unknown_region"],
    ["an unknown parameter", "region=eu-west&gpu=H100-SXM", 400, "invalid_request"],
  ];
  for (const [what, query, status, code] of bad) {
    it(`refuses ${what} with ${status} ${code}`, async () => {
      await expectError(await call(`/v1/pricing/cpu/suggest?${query}`, authed(apiKey)), status, code);
    });
  }
});
