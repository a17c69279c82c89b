import { afterEach, describe, expect, it } from "vitest";
import { authed, call, drainAgents, hardware, ownedAgent } from "./support.js";

/**
 * Issue 14 item 1: every figure a listing shows is the region's, or says it is not. The region
 * measures GPUs; a host's CPU count and memory are the agent's word, and every view of a node says
 * so (`hostVerified: false`), in the API and in the OpenAPI document.
 */

interface HostFigures {
  id: string;
  cpus: number;
  memoryGb: number;
  hostVerified?: boolean;
}

interface SchemaJson {
  type?: string;
  description?: string;
  properties?: Record<string, SchemaJson>;
  items?: SchemaJson;
}

describe("a node's host figures", { timeout: 30_000 }, () => {
  afterEach(drainAgents);

  it("are listed as the provider reported them, and marked unverified in every view", async () => {
    // Plausible but unchecked: a host that says it has 4,096 CPUs and 4 TiB is listed as such.
    const { agent, apiKey } = await ownedAgent(hardware([], 4096, 4 * 1024 * 1024));

    const market = await call("/v1/nodes", authed(apiKey));
    expect(market.status).toBe(200);
    const listed = ((await market.json()) as { nodes: HostFigures[] }).nodes.find(
      (n) => n.id === agent.nodeId,
    );
    expect(listed).toMatchObject({ cpus: 4096, memoryGb: 4096, hostVerified: false });

    const mine = await call("/v1/provider/nodes", authed(apiKey));
    expect(mine.status).toBe(200);
    const own = ((await mine.json()) as { nodes: HostFigures[] }).nodes.find((n) => n.id === agent.nodeId);
    expect(own).toMatchObject({ cpus: 4096, hostVerified: false });

    const one = await call(`/v1/provider/nodes/${agent.nodeId}`, authed(apiKey));
    expect(one.status).toBe(200);
    expect(((await one.json()) as { node: HostFigures }).node).toMatchObject({
      memoryGb: 4096,
      hostVerified: false,
    });
  });

  it("are described as the agent's report in the OpenAPI document", async () => {
    const res = await call("/v1/openapi.json");
    expect(res.status).toBe(200);
    const document = (await res.json()) as {
      paths: Record<
        string,
        Record<string, { responses?: Record<string, { content?: Record<string, { schema?: SchemaJson }> }> }>
      >;
    };
    const schema =
      document.paths["/v1/nodes"]?.get?.responses?.["200"]?.content?.["application/json"]?.schema;
    const node = schema?.properties?.nodes?.items?.properties;
    expect(node?.hostVerified?.type).toBe("boolean");
    expect(node?.hostVerified?.description).toMatch(/reported/);
    for (const field of ["cpus", "memoryGb"]) {
      expect(node?.[field]?.description, field).toMatch(/reported .*not verified by the region/);
    }
  });
});
