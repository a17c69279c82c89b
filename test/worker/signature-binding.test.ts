import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { SIGNATURE_HEADERS } from "../../src/shared/agent-signature.js";
import { isLocalHost, unsafeConfiguration } from "../../src/worker/deployment-guard.js";
import { call, drainAgents, expectError, hardware, signup, TestAgent } from "./support.js";

const body = { hardware: hardware(), pricePerGpuHour: "1.00", agentVersion: "t", runtime: "docker" };

async function nodeCount(): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM nodes").first<{ n: number }>())?.n ?? 0;
}

async function ownerOf(nodeId: string): Promise<string | null> {
  const row = await env.DB.prepare("SELECT * FROM node_owners WHERE node_id = ?").bind(nodeId).first();
  return row ? String((row as Record<string, unknown>).account_id) : null;
}

/** The same request with some headers changed after signing. */
function altered(request: Request, headers: Record<string, string | null>, text: string): Request {
  const copy = new Headers(request.headers);
  for (const [name, value] of Object.entries(headers)) {
    if (value === null) copy.delete(name);
    else copy.set(name, value);
  }
  return new Request(request.url, { method: "POST", headers: copy, body: text });
}

describe("agent signatures are bound to their target", () => {
  afterEach(drainAgents);

  it("a request replayed to another region, another host or under another API key does not verify", async () => {
    const agent = new TestAgent();
    await agent.register(hardware());
    const poll = { running: [], acceptingWork: false, waitMs: 0 };
    const text = JSON.stringify(poll);
    const signed = await agent.signedRequest("/v1/agent/poll", poll);
    // Nonces are per region: without the region in the signed string this would be fresh in us-east.
    await expectError(
      await exports.default.fetch(altered(signed.clone(), { [SIGNATURE_HEADERS.region]: "us-east" }, text)),
      401,
      "bad_signature",
    );
    // Signed for another deployment's host, sent to this one.
    const elsewhere = await agent.signedRequest("/v1/agent/poll", poll, { host: "staging.meridian.test" });
    await expectError(await exports.default.fetch(elsewhere), 401, "bad_signature");
    // The untouched request still works: the refusals above were for the binding alone.
    expect((await exports.default.fetch(signed)).status).toBe(200);

    // A registration's Authorization header names the account paid for the node: it is signed.
    const before = await nodeCount();
    const provider = await signup();
    const thief = await signup();
    const owned = new TestAgent();
    owned.ownerApiKey = provider.apiKey;
    const registration = { ...body, region: "eu-west" };
    const request = await owned.signedRequest("/v1/agent/register", registration);
    await expectError(
      await exports.default.fetch(
        altered(request.clone(), { authorization: `Bearer ${thief.apiKey}` }, JSON.stringify(registration)),
      ),
      401,
      "bad_signature",
    );
    await expectError(
      await exports.default.fetch(
        altered(request.clone(), { authorization: null }, JSON.stringify(registration)),
      ),
      401,
      "bad_signature",
    );
    expect(await nodeCount()).toBe(before);
    const res = await exports.default.fetch(request);
    expect(res.status).toBe(200);
    const { nodeId } = (await res.json()) as { nodeId: string };
    expect(await ownerOf(nodeId)).toBe(provider.id);
  });

  it("a registration goes only to the region it is signed for; one signed for none learns the choice", async () => {
    const before = await nodeCount();
    const agent = new TestAgent();
    // Signed for eu-west, registering in us-east: refused, nothing stored.
    const crossed = await agent.signedRequest(
      "/v1/agent/register",
      { ...body, region: "us-east" },
      { region: "eu-west" },
    );
    await expectError(await exports.default.fetch(crossed), 409, "region_not_signed");
    // Signed for no region: the control plane names its choice (the default region here).
    const unsigned = await agent.signedRequest("/v1/agent/register", body, { region: "" });
    const refusal = await exports.default.fetch(unsigned);
    expect(refusal.status).toBe(409);
    const envelope = (await refusal.json()) as { error: { code: string; details: { region: string } } };
    expect(envelope.error.code).toBe("region_not_signed");
    expect(envelope.error.details.region).toBe("eu-west");
    expect(await nodeCount()).toBe(before);
    // Signed again for that region, the same body registers.
    const again = await agent.signedRequest("/v1/agent/register", body, {
      region: envelope.error.details.region,
    });
    expect((await exports.default.fetch(again)).status).toBe(200);
    expect(await nodeCount()).toBe(before + 1);
  });
});

describe("registration input", () => {
  it("refuses a node reporting one GPU uuid twice, storing nothing", async () => {
    const before = await nodeCount();
    const agent = new TestAgent();
    const gpu = { index: 0, uuid: "GPU-dup", name: "NVIDIA H100 80GB HBM3", vramMib: 81_559 };
    const res = await agent.send("/v1/agent/register", {
      ...body,
      region: "eu-west",
      hardware: hardware([gpu, { ...gpu, index: 1 }]),
    });
    await expectError(res, 400, "duplicate_gpu_uuid");
    expect(await nodeCount()).toBe(before);
  });
});

describe("REQUIRE_VERIFIED_GPUS=false is for local runs only", () => {
  it("these tests run with it (a local host answers); a Worker reached on a public host refuses to serve", async () => {
    expect(env.REQUIRE_VERIFIED_GPUS).toBe("false");
    expect((await call("/v1/health")).status).toBe(200);
    for (const url of ["https://meridian.example.com/v1/health", "https://api.meridian.network/v1/jobs"]) {
      await expectError(await exports.default.fetch(new Request(url)), 503, "unsafe_configuration");
    }
    expect((await exports.default.fetch(new Request("http://127.0.0.1:8787/v1/health"))).status).toBe(200);
  });

  it("a deployed Worker refuses to serve without REGION_SIGNING_SEED: its receipts would lack the region's countersignature", () => {
    const deployed = "api.meridian.network";
    const seed = "b".repeat(64);
    expect(
      unsafeConfiguration({ REQUIRE_VERIFIED_GPUS: "true", REGION_SIGNING_SEED: seed }, deployed),
    ).toBeNull();
    for (const missing of [undefined, "", "  "]) {
      expect(
        unsafeConfiguration({ REQUIRE_VERIFIED_GPUS: "true", REGION_SIGNING_SEED: missing }, deployed),
      ).toMatch(/no REGION_SIGNING_SEED/);
      // A local run may go without it (receipts then say they carry no countersignature).
      expect(
        unsafeConfiguration({ REQUIRE_VERIFIED_GPUS: "true", REGION_SIGNING_SEED: missing }, "127.0.0.1"),
      ).toBeNull();
    }
    expect(
      unsafeConfiguration({ REQUIRE_VERIFIED_GPUS: "false", REGION_SIGNING_SEED: seed }, deployed),
    ).toMatch(/REQUIRE_VERIFIED_GPUS=false/);
  });

  it("tells local hosts from deployed ones", () => {
    for (const host of [
      "localhost",
      "127.0.0.1",
      "127.3.2.1",
      "[::1]",
      "::1",
      "meridian.test",
      "a.localhost",
    ]) {
      expect(isLocalHost(host), host).toBe(true);
    }
    for (const host of [
      "meridian.example.com",
      "meridian.workers.dev",
      "10.0.0.1",
      "testing.com",
      "localhost.com",
    ]) {
      expect(isLocalHost(host), host).toBe(false);
    }
  });
});
