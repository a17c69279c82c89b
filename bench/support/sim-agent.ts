/**
 * A simulated host agent for benches: the real signed protocol (ed25519 over method, host, path,
 * region, Authorization and body digests, timestamp and nonce, src/shared/agent-signature.ts),
 * over HTTP, with no Docker.
 */
import * as ed from "@noble/ed25519";
import type { PollResponse, RegisterResponse } from "../../src/shared/agent-protocol.js";
import {
  authorizationDigest,
  newNonce,
  publicKeyOf,
  SIGNATURE_HEADERS,
  sha256Hex,
  signParts,
} from "../../src/shared/agent-signature.js";
import type { HardwareReport } from "../../src/shared/hardware.js";

export function hardware(gpus: HardwareReport["gpus"] = []): HardwareReport {
  return { gpus, cpus: 16, memoryMib: 65536, diskFreeMib: 100_000, os: "linux", arch: "x64" };
}

export class SimAgent {
  private readonly secretKey = ed.utils.randomSecretKey();
  private publicKey = "";
  nodeId = "";
  region = "";

  constructor(public base: string) {}

  private async headers(path: string, text: string, ownerApiKey?: string): Promise<Record<string, string>> {
    if (!this.publicKey) this.publicKey = await publicKeyOf(this.secretKey);
    const timestamp = Date.now();
    const nonce = newNonce();
    const named =
      path === "/v1/agent/register" ? (JSON.parse(text) as { region?: unknown }).region : undefined;
    const region = typeof named === "string" ? named : this.region;
    const authorization = ownerApiKey ? `Bearer ${ownerApiKey}` : undefined;
    const signature = await signParts(this.secretKey, {
      method: "POST",
      host: new URL(this.base).host,
      pathAndQuery: path,
      region,
      authorization: await authorizationDigest(authorization),
      bodySha256: await sha256Hex(text),
      timestamp,
      nonce,
    });
    const headers: Record<string, string> = {
      "content-type": "application/json",
      [SIGNATURE_HEADERS.publicKey]: this.publicKey,
      [SIGNATURE_HEADERS.timestamp]: String(timestamp),
      [SIGNATURE_HEADERS.nonce]: nonce,
      [SIGNATURE_HEADERS.signature]: signature,
    };
    if (this.nodeId) headers[SIGNATURE_HEADERS.nodeId] = this.nodeId;
    if (region) headers[SIGNATURE_HEADERS.region] = region;
    if (authorization) headers.authorization = authorization;
    return headers;
  }

  /**
   * Answers wrangler dev's proxy gave instead of the Worker's (its 503 "Your worker restarted
   * mid-request": the proxy lost its connection to workerd; see docs/BENCHMARKS.md, bench:burst).
   */
  proxyLosses = 0;

  /**
   * One signed POST; re-signed once on `stale_signature` (a Region object that just started), and
   * sent again on a network error or a 5xx with the real agent's backoff (control-plane-client.ts:
   * 4 more tries, 250 ms doubling) — each try signed afresh, so its nonce is new.
   */
  async send(path: string, body: unknown, signal?: AbortSignal, ownerApiKey?: string): Promise<Response> {
    const text = JSON.stringify(body);
    let resigned = false;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.base + path, {
          method: "POST",
          headers: await this.headers(path, text, ownerApiKey),
          body: text,
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        if (signal?.aborted || attempt >= 4) throw error;
        await backoff(attempt);
        continue;
      }
      if (res.status >= 500 && attempt < 4) {
        const answer = await res.text();
        if (answer.includes("restarted mid-request")) this.proxyLosses++;
        await backoff(attempt);
        continue;
      }
      if (res.status !== 401 || resigned) return res;
      const error = (await res.clone().json()) as { error?: { code?: string } };
      if (error.error?.code !== "stale_signature") return res;
      resigned = true;
    }
  }

  async register(hw: HardwareReport, ownerApiKey?: string, price = "2.00"): Promise<RegisterResponse> {
    const res = await this.send(
      "/v1/agent/register",
      { hardware: hw, pricePerGpuHour: price, agentVersion: "bench", runtime: "docker", region: "eu-west" },
      undefined,
      ownerApiKey,
    );
    if (res.status !== 200) throw new Error(`register answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as RegisterResponse;
    this.nodeId = body.nodeId;
    this.region = body.region;
    return body;
  }

  async poll(
    running: { attemptId: string; fencing: number }[] = [],
    waitMs?: number,
    signal?: AbortSignal,
  ): Promise<PollResponse> {
    const res = await this.send(
      "/v1/agent/poll",
      { running, acceptingWork: true, ...(waitMs === undefined ? {} : { waitMs }) },
      signal,
    );
    if (res.status !== 200) throw new Error(`poll answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as PollResponse;
  }

  async report(attemptId: string, body: unknown): Promise<void> {
    const res = await this.send(`/v1/agent/attempts/${attemptId}/report`, body);
    if (res.status !== 200) throw new Error(`report answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  }
}

function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** attempt)));
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function summary(samples: readonly number[]): { p50: number; p99: number; max: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
    n: sorted.length,
  };
}
