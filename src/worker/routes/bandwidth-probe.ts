import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../hono-env.js";
import { queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { callerAddress, takeOrThrow } from "../rate-limits.js";

export const MAX_PROBE_BYTES = 16 * 1024 * 1024;
const CHUNK = new Uint8Array(64 * 1024);

export const BandwidthProbeQuery = z
  .object({
    bytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(MAX_PROBE_BYTES)
      .default(4 * 1024 * 1024),
  })
  .strict();

/**
 * GET /v1/agent/bandwidth-probe?bytes=N: N bytes for an agent to time, so a node's bandwidth to the
 * control plane is measured rather than claimed. Unsigned (an agent measures before it registers),
 * so it is rate-limited per address and capped at 16 MiB.
 */
export const bandwidthProbeRoutes = new Hono<AppEnv>().get(
  "/",
  doc({
    id: "agentBandwidthProbe",
    tag: "Agent",
    summary: "Bytes to time a node's bandwidth with",
    description:
      "At most 16 MiB, 30 probes an hour per address. The agent reports the rate it measured when it registers.",
    auth: "none",
    query: BandwidthProbeQuery,
    response: { contentType: "application/octet-stream", description: "`bytes` zero bytes" },
    errors: [429],
  }),
  async (c) => {
    const { bytes } = queryOf(c, BandwidthProbeQuery);
    await takeOrThrow(
      c.env,
      `bandwidth-probe:${callerAddress(c.req)}`,
      { limit: 30, windowSeconds: 3600 },
      "bandwidth probes from this address",
    );
    let left = bytes;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (left <= 0) {
          controller.close();
          return;
        }
        const piece = CHUNK.subarray(0, Math.min(CHUNK.byteLength, left));
        left -= piece.byteLength;
        controller.enqueue(piece.slice());
      },
    });
    return c.body(body, 200, {
      "content-type": "application/octet-stream",
      "content-length": String(bytes),
      "cache-control": "no-store",
      // wrangler dev would gzip zeros to nothing and the probe would time compression, not the link.
      "content-encoding": "identity",
    });
  },
);
