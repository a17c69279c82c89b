import { z } from "zod";
import { ErrorEnvelope } from "../shared/errors.js";
import { EarningsView } from "../shared/ledger-api.js";
import { ControlPlaneError, UNREACHABLE } from "./control-plane-client.js";

/**
 * The plain (unsigned) GET routes the agent and the provider commands read: health (for clock skew
 * and round-trip time), price suggestions, and the provider's own view of a node and its earnings,
 * which take the owner's API key.
 */

export interface HealthProbe {
  /** The server's Date header, ms since the epoch; undefined when it sent none. */
  serverTime: number | undefined;
  /** Local time halfway through the round trip, the best estimate of when the server stamped it. */
  localMidpoint: number;
  rttMs: number;
}

/**
 * The part of GET /v1/pricing/suggest's and GET /v1/pricing/cpu/suggest's answers (PriceSuggestionView,
 * CpuPriceSuggestionView) the agent uses.
 */
const Suggestion = z.object({ suggested: z.string() }).loose();

/** GET /v1/provider/nodes/:id, read leniently: whatever parts are present are shown. */
export const ProviderNodeView = z
  .object({
    nodeId: z.string().optional(),
    status: z.string().optional(),
    region: z.string().optional(),
    verification: z
      .object({
        outcome: z.string().optional(),
        measured: z.record(z.string(), z.unknown()).optional(),
        judgedAt: z.union([z.string(), z.number()]).optional(),
      })
      .loose()
      .nullish(),
    reputation: z
      .object({ score: z.number().optional(), components: z.record(z.string(), z.unknown()).optional() })
      .loose()
      .nullish(),
  })
  .loose();
export type ProviderNodeView = z.infer<typeof ProviderNodeView>;

export interface ProviderApiOptions {
  baseUrl: string;
  ownerApiKey?: string;
  fetch?: typeof fetch;
  now?: () => number;
  timeoutMs?: number;
}

export class ProviderApi {
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly timeoutMs: number;

  constructor(private readonly options: ProviderApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  get hasOwnerKey(): boolean {
    return this.options.ownerApiKey !== undefined;
  }

  /** A cheap request whose timing and Date header say how far and how skewed the server is. */
  async health(): Promise<HealthProbe> {
    const started = this.now();
    const response = await this.get("/v1/health", false);
    const body = (await response.json().catch(() => undefined)) as { time?: unknown } | undefined;
    const ended = this.now();
    // The body's time has millisecond resolution; the Date header (not sent by wrangler dev) seconds.
    const date = typeof body?.time === "string" ? body.time : response.headers.get("date");
    const parsed = date === null ? Number.NaN : Date.parse(date);
    return {
      serverTime: Number.isNaN(parsed) ? undefined : parsed,
      localMidpoint: started + (ended - started) / 2,
      rttMs: ended - started,
    };
  }

  /** GET /v1/pricing/suggest: the suggested price per GPU-hour, a decimal USD string. */
  async suggestPrice(gpuModel: string, region: string, floor: string): Promise<string> {
    const query = new URLSearchParams({ gpu: gpuModel, region, floor });
    const body = await this.json(`/v1/pricing/suggest?${query}`, Suggestion, false);
    return body.suggested;
  }

  /** GET /v1/pricing/cpu/suggest: the suggested price per vCPU-hour, a decimal USD string. */
  async suggestCpuPrice(region: string, floor: string): Promise<string> {
    const query = new URLSearchParams({ region, floor });
    const body = await this.json(`/v1/pricing/cpu/suggest?${query}`, Suggestion, false);
    return body.suggested;
  }

  node(nodeId: string): Promise<ProviderNodeView> {
    return this.json(`/v1/provider/nodes/${encodeURIComponent(nodeId)}`, ProviderNodeView, true);
  }

  earnings(): Promise<EarningsView> {
    return this.json("/v1/provider/earnings", EarningsView, true);
  }

  private async json<T>(path: string, schema: z.ZodType<T>, needsKey: boolean): Promise<T> {
    const response = await this.get(path, needsKey);
    const parsed = schema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success)
      throw new ControlPlaneError(response.status, "bad_response", `unexpected answer from ${path}`);
    return parsed.data;
  }

  private async get(path: string, needsKey: boolean): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    const key = this.options.ownerApiKey;
    if (needsKey && key === undefined) {
      throw new ControlPlaneError(
        401,
        "owner_key_missing",
        `${path} needs your API key (ownerApiKey in the config)`,
      );
    }
    let response: Response;
    try {
      response = await this.fetch(url, {
        headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ControlPlaneError(0, UNREACHABLE, `cannot reach the control plane at ${url}: ${reason}`);
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => "");
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const envelope = ErrorEnvelope.safeParse(value);
    if (envelope.success) {
      const { code, message } = envelope.data.error;
      throw new ControlPlaneError(response.status, code, message);
    }
    throw new ControlPlaneError(
      response.status,
      `http_${response.status}`,
      `${path} answered ${response.status}`,
    );
  }
}
