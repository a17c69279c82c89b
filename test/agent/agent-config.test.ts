import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig, saveNodeId } from "../../src/agent/agent-config.js";
import { newId } from "../../src/shared/ids.js";

const dataDir = () => mkdtemp(join(tmpdir(), "meridian-config-"));

describe("agent config", () => {
  it("refuses unknown keys", () => {
    expect(() => parseConfig({ controlPlane: "http://localhost:8787", pricePerHour: "2" }, "test")).toThrow(
      ConfigError,
    );
  });

  it("refuses a price that is not an exact USD amount, and a missing control plane", () => {
    expect(() =>
      parseConfig({ controlPlane: "http://localhost:8787", pricePerGpuHour: "1.5e3" }, "t"),
    ).toThrow(/pricePerGpuHour/);
    expect(() => parseConfig({}, "t")).toThrow(/--control-plane/);
  });

  it("writes the first start's settings, lets flags override the file, and keeps the node id", async () => {
    const dir = await dataDir();
    const first = await loadConfig(dir, { controlPlane: "http://localhost:8787", labels: { zone: "a" } });
    expect(first).toEqual({
      controlPlane: "http://localhost:8787",
      pricePerGpuHour: "1.50",
      labels: { zone: "a" },
    });

    const nodeId = newId("node");
    await saveNodeId(dir, nodeId);
    const second = await loadConfig(dir, { pricePerGpuHour: "2.25" });
    expect(second).toMatchObject({ controlPlane: "http://localhost:8787", pricePerGpuHour: "2.25", nodeId });
    // The override applies to this run only; the file keeps what it had.
    expect(JSON.parse(await readFile(join(dir, "config.json"), "utf8"))).toMatchObject({
      pricePerGpuHour: "1.50",
    });
  });

  it("refuses a config file with an unknown key", async () => {
    const dir = await dataDir();
    await writeFile(join(dir, "config.json"), JSON.stringify({ controlPlane: "http://x:1", gpus: 3 }));
    await expect(loadConfig(dir, {})).rejects.toThrow(/gpus|unrecognized/i);
  });
});
