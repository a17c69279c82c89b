import { describe, expect, it } from "vitest";
import { AgentConfig } from "../../src/agent/agent-config.js";
import { buildRegistration } from "../../src/agent/registration.js";
import { renderNodes } from "../../src/cli/commands/nodes.js";
import { NodeList } from "../../src/shared/api.js";

const HOST = { gpus: [], cpus: 16, memoryMib: 65_536, diskFreeMib: 100_000, os: "linux", arch: "x64" };

const CPU_NODE = {
  id: "node_cpu",
  region: "eu-west",
  status: "online",
  gpus: [],
  freeGpus: 0,
  cpus: 16,
  memoryGb: 64,
  pricePerGpuHour: "0.00",
  site: null,
  verification: "not_required",
  assurance: null,
  verifiedTflops: null,
  pricePerVerifiedTflopHour: null,
  reputation: 0.5,
  stakeTier: "none",
  labels: {},
};

describe("per-provider CPU prices in the CLI and the agent", () => {
  it("meridian nodes shows each node's price per vCPU-hour when the server lists one", () => {
    const { nodes } = NodeList.parse({
      nodes: [
        { ...CPU_NODE, pricePerVcpuHour: "0.012" },
        { ...CPU_NODE, id: "node_tbl", pricePerVcpuHour: "0.009483" },
      ],
    });
    expect(renderNodes(nodes).split("\n").slice(0, 3)).toEqual([
      "ID        REGION   STATUS  GPUS  FREE  CPUS  MEMORY  $/GPU-HOUR  $/VCPU-HOUR  VERIFIED      REPUTATION  STAKE  LABELS",
      "node_cpu  eu-west  online  none  0     16    64 GB   0.00        0.012        not_required  0.50        none   -",
      "node_tbl  eu-west  online  none  0     16    64 GB   0.00        0.009483     not_required  0.50        none   -",
    ]);
    // A server older than per-node CPU prices lists none: no column, and the listing still reads.
    expect(renderNodes(NodeList.parse({ nodes: [CPU_NODE] }).nodes)).not.toContain("VCPU");
  });

  it("marks a node listed at the CPU table's rate rather than its provider's own", () => {
    const { nodes } = NodeList.parse({
      nodes: [
        { ...CPU_NODE, pricePerVcpuHour: "0.012", cpuPriceSource: "node" },
        { ...CPU_NODE, id: "node_tbl", pricePerVcpuHour: "0.009483", cpuPriceSource: "table" },
      ],
    });
    const [, own, table] = renderNodes(nodes).split("\n");
    expect(own).toContain(" 0.012 ");
    expect(own).not.toContain("(table)");
    expect(table).toContain(" 0.009483 (table) ");
  });

  it("the agent's pricePerVcpuHour is checked at load and sent at registration", async () => {
    const base = { controlPlane: "http://127.0.0.1:1" };
    for (const bad of ["-0.01", "0.0000001", "1.5", "cheap", ""]) {
      expect(AgentConfig.safeParse({ ...base, pricePerVcpuHour: bad }).success, bad).toBe(false);
    }
    const config = AgentConfig.parse({ ...base, pricePerVcpuHour: "0.012" });
    const body = await buildRegistration({
      config,
      hardware: HOST,
      runtime: "docker",
      benchmark: { mode: "typescript-cpu" },
      api: { suggestPrice: async () => "1.00", suggestCpuPrice: async () => "0.01" },
      log: { info: () => {}, warn: () => {}, error: () => {} },
      knownRegion: undefined,
    });
    expect(body).toMatchObject({ pricePerVcpuHour: "0.012" });
    const unset = await buildRegistration({
      config: AgentConfig.parse(base),
      hardware: HOST,
      runtime: "docker",
      benchmark: { mode: "typescript-cpu" },
      api: { suggestPrice: async () => "1.00", suggestCpuPrice: async () => "0.01" },
      log: { info: () => {}, warn: () => {}, error: () => {} },
      knownRegion: undefined,
    });
    expect(unset).not.toHaveProperty("pricePerVcpuHour");
  });
});
