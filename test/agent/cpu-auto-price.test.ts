import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentConfig } from "../../src/agent/agent-config.js";
import type { AgentLog } from "../../src/agent/agent-log.js";
import { ProviderApi } from "../../src/agent/provider-api.js";
import { buildRegistration } from "../../src/agent/registration.js";
import { FakeControlPlane } from "./fake-control-plane.js";

/**
 * Issue 10: pricePerVcpuHour "auto" asks the control plane's suggested vCPU-hour price for the
 * node's region (GET /v1/pricing/cpu/suggest) at each registration, never below
 * priceFloorPerVcpuHour, and asks the floor when no suggestion comes.
 */
const HOST = { gpus: [], cpus: 16, memoryMib: 65_536, diskFreeMib: 100_000, os: "linux", arch: "x64" };

describe("auto pricing per vCPU-hour", () => {
  let plane: FakeControlPlane;
  let baseUrl = "";
  const warnings: string[] = [];
  const log: AgentLog = { info: () => {}, warn: (line) => warnings.push(line), error: () => {} };

  beforeEach(async () => {
    plane = new FakeControlPlane();
    baseUrl = await plane.listen();
    warnings.length = 0;
  });
  afterEach(() => plane.close());

  async function register(config: Record<string, unknown>): Promise<{ pricePerVcpuHour?: unknown }> {
    const parsed = AgentConfig.parse({ controlPlane: baseUrl, region: "eu-west", ...config });
    return buildRegistration({
      config: parsed,
      hardware: HOST,
      runtime: "docker",
      benchmark: { mode: "typescript-cpu" },
      api: new ProviderApi({ baseUrl }),
      log,
      knownRegion: undefined,
    });
  }

  it("asks the region's suggestion, with the floor, when it is above the floor, and only with auto", async () => {
    plane.cpuSuggestion = "0.0117";
    const body = await register({ pricePerVcpuHour: "auto", priceFloorPerVcpuHour: "0.008" });
    expect(body.pricePerVcpuHour).toBe("0.0117");
    expect(plane.gets).toEqual(["/v1/pricing/cpu/suggest?region=eu-west&floor=0.008"]);
    // A fixed price, or none (the table's rate), asks for no suggestion.
    expect((await register({ pricePerVcpuHour: "0.011" })).pricePerVcpuHour).toBe("0.011");
    expect(await register({})).not.toHaveProperty("pricePerVcpuHour");
    expect(plane.gets).toHaveLength(1);
  });

  it("asks the floor when the suggestion is below it or cannot be had", async () => {
    plane.cpuSuggestion = "0.0095";
    expect(
      (await register({ pricePerVcpuHour: "auto", priceFloorPerVcpuHour: "0.012" })).pricePerVcpuHour,
    ).toBe("0.012");
    plane.cpuSuggestion = undefined;
    expect(
      (await register({ pricePerVcpuHour: "auto", priceFloorPerVcpuHour: "0.009" })).pricePerVcpuHour,
    ).toBe("0.009");
    expect(warnings.join("\n")).toMatch(/no vCPU-hour price suggestion .*asking the floor price 0\.009/);
  });

  it("refuses auto without a floor, and a floor that is no vCPU-hour price", () => {
    const parse = (config: Record<string, unknown>) =>
      AgentConfig.safeParse({ controlPlane: "http://127.0.0.1:1", ...config }).success;
    expect(parse({ pricePerVcpuHour: "auto" })).toBe(false);
    for (const floor of ["-0.01", "0.0000001", "1.5", "cheap"]) {
      expect(parse({ pricePerVcpuHour: "auto", priceFloorPerVcpuHour: floor }), floor).toBe(false);
    }
    expect(parse({ pricePerVcpuHour: "auto", priceFloorPerVcpuHour: "0.008" })).toBe(true);
  });
});
