import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import * as ed from "@noble/ed25519";
import type { RegionObject } from "../../src/durable/region-object.js";
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

const BASE = "http://meridian.test";

export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(BASE + path, init));
}

export function jsonInit(method: string, body: unknown, apiKey?: string): RequestInit {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  return { method, headers, body: typeof body === "string" ? body : JSON.stringify(body) };
}

export async function signup(): Promise<{ id: string; apiKey: string }> {
  const res = await call("/v1/accounts", { method: "POST" });
  if (res.status !== 201) throw new Error(`signup answered ${res.status}`);
  return res.json();
}

export async function submit(apiKey: string, spec: unknown): Promise<Response> {
  return call("/v1/jobs", jsonInit("POST", spec, apiKey));
}

export function authed(apiKey: string, method = "GET"): RequestInit {
  return { method, headers: { authorization: `Bearer ${apiKey}` } };
}

export async function expectError(res: Response, status: number, code: string): Promise<void> {
  const body = (await res.json()) as { error?: { code?: string; message?: string } };
  if (res.status !== status || body.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(body)}`);
  }
}

export const H100: HardwareReport["gpus"][number] = {
  index: 0,
  uuid: "GPU-aaaaaaaa-0000-0000-0000-000000000000",
  name: "NVIDIA H100 80GB HBM3",
  vramMib: 81559,
};

export function hardware(gpus: HardwareReport["gpus"] = [], cpus = 16, memoryMib = 65536): HardwareReport {
  return { gpus, cpus, memoryMib, diskFreeMib: 100_000, os: "linux", arch: "x64" };
}

const agents: TestAgent[] = [];

/** Storage is shared by the tests of a file: drain every agent so the next test starts with none taking work. */
export async function drainAgents(): Promise<void> {
  for (const agent of agents.splice(0)) {
    if (agent.nodeId) await agent.send("/v1/agent/poll", { running: [], acceptingWork: false, waitMs: 0 });
  }
}

/** A host agent speaking the real signed protocol to the Worker, from inside the test. */
export class TestAgent {
  readonly secretKey = ed.utils.randomSecretKey();
  nodeId = "";
  region = "";
  /** Sent with registration: the account that owns (is paid for) this node. */
  ownerApiKey = "";

  constructor() {
    agents.push(this);
  }

  /**
   * Signed for `override.host`/`override.region` when given (to test replays elsewhere), else for
   * this Worker's host and the node's region — for a registration, the region its body names.
   */
  async signedRequest(
    path: string,
    body: unknown,
    override: { nonce?: string; timestamp?: number; host?: string; region?: string } = {},
  ): Promise<Request> {
    const text = JSON.stringify(body);
    const timestamp = override.timestamp ?? Date.now();
    const nonce = override.nonce ?? newNonce();
    const named = path === "/v1/agent/register" ? (body as { region?: unknown }).region : undefined;
    const region = override.region ?? (typeof named === "string" ? named : this.region);
    const authorization =
      this.ownerApiKey && path === "/v1/agent/register" ? `Bearer ${this.ownerApiKey}` : undefined;
    const signature = await signParts(this.secretKey, {
      method: "POST",
      host: override.host ?? new URL(BASE).host,
      pathAndQuery: path,
      region,
      authorization: await authorizationDigest(authorization),
      bodySha256: await sha256Hex(text),
      timestamp,
      nonce,
    });
    const headers: Record<string, string> = {
      "content-type": "application/json",
      [SIGNATURE_HEADERS.publicKey]: await publicKeyOf(this.secretKey),
      [SIGNATURE_HEADERS.timestamp]: String(timestamp),
      [SIGNATURE_HEADERS.nonce]: nonce,
      [SIGNATURE_HEADERS.signature]: signature,
    };
    if (this.nodeId) headers[SIGNATURE_HEADERS.nodeId] = this.nodeId;
    if (region) headers[SIGNATURE_HEADERS.region] = region;
    if (authorization) headers.authorization = authorization;
    return new Request(BASE + path, { method: "POST", headers, body: text });
  }

  async send(path: string, body: unknown): Promise<Response> {
    // A Region object that just restarted refuses signatures made just before (nonce-guard.ts);
    // re-sign, as the agent does.
    const res = await exports.default.fetch(await this.signedRequest(path, body));
    if (res.status !== 401) return res;
    const copy = res.clone();
    const error = (await copy.json()) as { error?: { code?: string; details?: { notBefore?: number } } };
    if (error.error?.code !== "stale_signature" && error.error?.code !== "signed_before_restart") return res;
    // Past the first timestamp the restarted object takes, as the agent waits for it.
    const lag = (error.error.details?.notBefore ?? 0) - Date.now();
    if (lag > 0) await new Promise((resolve) => setTimeout(resolve, lag + 5));
    return exports.default.fetch(await this.signedRequest(path, body));
  }

  async register(hw: HardwareReport, extra: Record<string, unknown> = {}): Promise<RegisterResponse> {
    const res = await this.send("/v1/agent/register", {
      hardware: hw,
      pricePerGpuHour: "2.00",
      agentVersion: "test",
      runtime: "docker",
      region: "eu-west",
      ...extra,
    });
    if (res.status !== 200) throw new Error(`register answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as RegisterResponse;
    this.nodeId = body.nodeId;
    this.region = body.region;
    return body;
  }

  async poll(running: { attemptId: string; fencing: number }[] = [], waitMs = 0): Promise<PollResponse> {
    const res = await this.send("/v1/agent/poll", { running, waitMs });
    if (res.status !== 200) throw new Error(`poll answered ${res.status}: ${await res.text()}`);
    return res.json();
  }

  /** Reports an assignment's container as started. */
  start(a: { attemptId: string; fencing: number }): Promise<Response> {
    return this.report(a.attemptId, {
      type: "started",
      fencing: a.fencing,
      at: Date.now(),
      containerId: "c",
    });
  }

  /** Reports an assignment's container as exited (completed with `exitCode`, unless told otherwise). */
  exit(
    a: { attemptId: string; fencing: number },
    exitCode: number | null = 0,
    reason: "completed" | "timeout" | "cancelled" | "error" = "completed",
  ): Promise<Response> {
    return this.report(a.attemptId, { type: "exited", fencing: a.fencing, at: Date.now(), exitCode, reason });
  }

  report(attemptId: string, body: unknown): Promise<Response> {
    return this.send(`/v1/agent/attempts/${attemptId}/report`, body);
  }
}

export async function jobOf(
  apiKey: string,
  jobId: string,
): Promise<{
  status: string;
  reason: string | null;
  exitCode: number | null;
  nodeId: string | null;
  attempts: number;
}> {
  const res = await call(`/v1/jobs/${jobId}`, authed(apiKey));
  return res.json();
}

/** An H100 with a uuid of its own, so several test nodes can hold "the same" GPU model. */
export function h100Numbered(n: number): HardwareReport["gpus"][number] {
  return { ...H100, uuid: `GPU-${String(n).padStart(8, "0")}-1111-0000-0000-000000000000` };
}

/** A provider account and an agent registered with its key (so the account owns the node). */
export async function ownedAgent(
  hw: HardwareReport,
  extra: Record<string, unknown> = {},
): Promise<{ agent: TestAgent; apiKey: string; accountId: string }> {
  const owner = await signup();
  const agent = new TestAgent();
  agent.ownerApiKey = owner.apiKey;
  await agent.register(hw, extra);
  return { agent, apiKey: owner.apiKey, accountId: owner.id };
}

/** The Region object of a region, as the tests reach into it. */
export function regionObject(region = "eu-west"): DurableObjectStub<RegionObject> {
  return env.REGION.get(env.REGION.idFromName(region));
}

/** Lets these attempts' leases lapse, as if their node had gone silent, then runs the alarm. */
export async function expireLeases(attemptIds: readonly string[], region = "eu-west"): Promise<void> {
  await runInDurableObject(regionObject(region), (instance) => {
    const leases = (instance as unknown as { state: { leases: Map<string, number> } }).state.leases;
    for (const attemptId of attemptIds) {
      if (!leases.has(attemptId)) throw new Error(`no lease for ${attemptId}`);
      leases.set(attemptId, 0);
    }
  });
  await runDurableObjectAlarm(regionObject(region));
}

/** The caller's balance as GET /v1/balance shows it, in µUSD. */
export async function balance(apiKey: string): Promise<{ availableMicros: number; heldMicros: number }> {
  return (await (await call("/v1/balance", authed(apiKey))).json()) as {
    availableMicros: number;
    heldMicros: number;
  };
}
