import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { AgentLog } from "../../src/agent/agent-log.js";
import { measureBandwidthGbps, PROBE_BYTES } from "../../src/agent/bandwidth-probe.js";

const warnings: string[] = [];
const log = {
  info: () => undefined,
  warn: (m: string) => warnings.push(m),
  error: () => undefined,
} as unknown as AgentLog;
let server: Server | undefined;

async function serve(status: number, bytes: number): Promise<string> {
  server = createServer((req, res) => {
    expect(req.url).toBe(`/v1/agent/bandwidth-probe?bytes=${PROBE_BYTES}`);
    res.writeHead(status, { "content-type": "application/octet-stream" });
    let left = bytes;
    const chunk = Buffer.alloc(64 * 1024);
    const write = () => {
      while (left > 0) {
        const piece = chunk.subarray(0, Math.min(chunk.length, left));
        left -= piece.length;
        if (!res.write(piece)) return void res.once("drain", write);
      }
      res.end();
    };
    write();
  });
  const listening = server;
  await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
}

afterEach(async () => {
  warnings.length = 0;
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

describe("the agent's bandwidth measurement", () => {
  it("times the probe's bytes over a real connection and reports Gbit/s", async () => {
    const gbps = await measureBandwidthGbps(await serve(200, PROBE_BYTES), log);
    expect(gbps).toBeGreaterThan(0);
    expect(gbps).toBeLessThanOrEqual(1000);
    expect(warnings).toEqual([]);
  });

  it("reports nothing, with a warning, when the probe is refused or cut short", async () => {
    expect(await measureBandwidthGbps(await serve(429, 10), log)).toBeUndefined();
    expect(warnings[0]).toContain("429");
    await new Promise((resolve) => server?.close(resolve));
    expect(await measureBandwidthGbps(await serve(200, 1000), log)).toBeUndefined();
  });
});
