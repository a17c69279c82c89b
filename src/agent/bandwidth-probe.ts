import type { AgentLog } from "./agent-log.js";

/** Enough bytes to time a link of a few Gbit/s to a few percent, little enough to be polite. */
export const PROBE_BYTES = 4 * 1024 * 1024;

/**
 * The node's download bandwidth from the control plane, in Gbit/s: the probe's bytes over the time
 * from its first byte to its last (so connection set-up and latency do not count). Undefined when
 * the probe fails: the node then registers without a bandwidth and fails `minBandwidthGbps`.
 */
export async function measureBandwidthGbps(
  controlPlane: string,
  log: AgentLog,
  fetchImpl: typeof fetch = fetch,
): Promise<number | undefined> {
  try {
    const response = await fetchImpl(`${controlPlane}/v1/agent/bandwidth-probe?bytes=${PROBE_BYTES}`, {
      signal: AbortSignal.timeout(60_000),
      headers: { "accept-encoding": "identity" },
    });
    if (!response.ok || !response.body) {
      log.warn(`bandwidth probe answered ${response.status}: registering without a measured bandwidth`);
      return undefined;
    }
    const reader = response.body.getReader();
    let received = 0;
    let firstAt: number | undefined;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      firstAt ??= performance.now();
      received += value.byteLength;
    }
    const seconds = firstAt === undefined ? 0 : (performance.now() - firstAt) / 1000;
    if (received < PROBE_BYTES || seconds <= 0) return undefined;
    return Math.min(1000, Number(((received * 8) / seconds / 1e9).toPrecision(3)));
  } catch (error) {
    log.warn(`bandwidth probe failed (${String(error)}): registering without a measured bandwidth`);
    return undefined;
  }
}
