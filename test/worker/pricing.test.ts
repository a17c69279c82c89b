import { beforeAll, describe, expect, it } from "vitest";
import type { PriceSuggestionView } from "../../src/shared/pricing.js";
import { authed, call, drainAgents, expectError, H100, hardware, signup, TestAgent } from "./support.js";

describe("GET /v1/pricing/suggest", () => {
  let apiKey = "";
  beforeAll(async () => {
    apiKey = (await signup()).apiKey;
  });

  async function suggest(query: string): Promise<PriceSuggestionView> {
    const res = await call(`/v1/pricing/suggest?${query}`, authed(apiKey));
    expect(res.status).toBe(200);
    return res.json();
  }

  it("suggests 60–80% below the cloud reference in an empty region, with its reasons", async () => {
    const view = await suggest("gpu=H100-SXM&region=ap-southeast");
    expect(view).toMatchObject({
      gpu: "H100-SXM",
      region: "ap-southeast",
      currency: "USD",
      suggested: "1.28",
      suggestedMicros: 1_280_000,
      reference: "4.25",
      market: { offers: 0, median: null, utilization: null },
    });
    expect(view.belowReference).toBeGreaterThanOrEqual(0.6);
    expect(view.belowReference).toBeLessThanOrEqual(0.8);
    expect(view.reasons.length).toBeGreaterThan(0);
  });

  it("follows the region's live offers", async () => {
    const prices = ["0.90", "1.00", "1.10"];
    for (const [i, price] of prices.entries()) {
      const agent = new TestAgent();
      await agent.register(hardware([{ ...H100, uuid: `GPU-pricing-${i}` }]), {
        region: "us-west",
        pricePerGpuHour: price,
      });
    }
    const view = await suggest("gpu=H100-SXM&region=us-west");
    expect(view.market.offers).toBe(3);
    expect(view.market.median).toBe("1.00");
    expect(view.market.utilization).toBe(0);
    // Halfway between the $1.28 anchor and the $1.00 median, then 20% off for an idle market.
    expect(view.suggested).toBe("0.91");
    await drainAgents();
  });

  it("takes the provider's verified figure and floor", async () => {
    const view = await suggest("gpu=H100-SXM&region=ap-southeast&verifiedTflops=900&floor=2.00");
    expect(view.suggested).toBe("2.00");
    expect(view.reasons.join("\n")).toMatch(/verified at 900/);
  });

  const bad: [string, string, number, string][] = [
    ["an unknown GPU model", "gpu=GTX-9999&region=eu-west", 400, "invalid_request"],
    ["no GPU model", "region=eu-west", 400, "invalid_request"],
    ["a malformed region", "gpu=H100-SXM&region=EU%20WEST", 400, "invalid_request"],
    ["an unknown region", "gpu=H100-SXM&region=mars-north", 400, "unknown_region"],
    ["an unknown parameter", "gpu=H100-SXM&region=eu-west&x=1", 400, "invalid_request"],
    ["a negative TFLOP/s figure", "gpu=H100-SXM&region=eu-west&verifiedTflops=-5", 400, "invalid_request"],
  ];
  for (const [what, query, status, code] of bad) {
    it(`refuses ${what} with ${status} ${code}`, async () => {
      await expectError(await call(`/v1/pricing/suggest?${query}`, authed(apiKey)), status, code);
    });
  }

  it("wants an API key", async () => {
    await expectError(await call("/v1/pricing/suggest?gpu=H100-SXM&region=eu-west"), 401, "unauthorized");
  });
});
