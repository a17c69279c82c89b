import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { UsageReceipt } from "../../src/agent/usage-receipt.js";
import { regionSigningKey } from "../../src/chain/receipts/region-signing-key.js";
import type { AttemptReport } from "../../src/shared/agent-protocol.js";
import { publicKeyOf } from "../../src/shared/agent-signature.js";
import { type ChargeReceipt, receiptLeaf } from "../../src/shared/receipts/receipt.js";
import { checkReceiptOffline, type ReceiptView } from "../../src/shared/receipts/receipt-view.js";
import { countersignUsage } from "../../src/shared/receipts/region-countersignature.js";
import { RegionListView, RegionView } from "../../src/shared/regions.js";
import { gpuAttempt } from "./gpu-attempt-support.js";
import { authed, call, drainAgents } from "./support.js";

const OPERATOR = { authorization: "Bearer test-operator-token" };

async function publishedKey(region: string): Promise<string> {
  const res = await call(`/v1/regions/${region}`);
  expect(res.status).toBe(200);
  const key = RegionView.parse(await res.json()).signingKey;
  if (key === null) throw new Error(`region ${region} publishes no key`);
  return key;
}

/** One GPU attempt in eu-west, started and ended through the agent's own usage receipt, then receipted. */
async function countersignedView(
  n: number,
): Promise<{ view: ReceiptView; receipt: ChargeReceipt; startedAt: number }> {
  const { agent, a, apiKey } = await gpuAttempt(n, "8888", "countersigned");
  const signer = { secretKey: agent.secretKey, publicKeyBase58: await publicKeyOf(agent.secretKey) };
  const usage = new UsageReceipt(a, agent.nodeId, signer, false);
  const send = async (body: AttemptReport) => agent.report(a.attemptId, await usage.stamp(body));
  const startedAt = Date.now() - 60_000;
  expect((await send({ type: "started", fencing: a.fencing, at: startedAt, containerId: "c" })).status).toBe(
    200,
  );
  const end = {
    type: "exited",
    fencing: a.fencing,
    at: startedAt + 60_000,
    exitCode: 0,
    reason: "completed",
  };
  expect((await send(end as AttemptReport)).status).toBe(200);
  expect((await call("/v1/operator/receipts/run", { method: "POST", headers: OPERATOR })).status).toBe(200);
  const res = await call(`/v1/receipts/${a.attemptId}`, authed(apiKey));
  expect(res.status).toBe(200);
  const view = (await res.json()) as ReceiptView;
  if (view.receipt.kind !== "charge") throw new Error("not a charge receipt");
  return { view, receipt: view.receipt, startedAt };
}

function regionOf(checks: { name: string; ok: boolean; detail: string }[]) {
  return checks.find((check) => check.name === "region");
}

describe("the region's countersignature on charge receipts", () => {
  afterEach(drainAgents);

  it("publishes one key per region, and refuses an unknown or malformed region id", async () => {
    const res = await call("/v1/regions");
    expect(res.status).toBe(200);
    const { regions } = RegionListView.parse(await res.json());
    expect(regions.map((r) => r.id)).toContain("eu-west");
    const keys = regions.map((r) => r.signingKey);
    expect(keys.every((key) => typeof key === "string")).toBe(true);
    expect(new Set(keys).size).toBe(regions.length);
    // The key the Worker publishes is the one the secret derives for that region, every time.
    expect(await publishedKey("eu-west")).toBe((await regionSigningKey(env, "eu-west"))?.publicKey);
    expect(regions.find((r) => r.id === "eu-west")?.signingKey).toBe(await publishedKey("eu-west"));
    expect((await call("/v1/regions/mars-north")).status).toBe(404);
    const bad = await call("/v1/regions/NOT%20A%20REGION");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
  });

  it("carries the region's signature over the statement and its own times, by its published key", async () => {
    const { view, receipt, startedAt } = await countersignedView(1);
    const countersignature = receipt.countersignature;
    if (!countersignature || !receipt.usage) throw new Error("no countersignature");
    const key = await publishedKey("eu-west");
    expect(countersignature).toMatchObject({ region: "eu-west", regionKey: key });
    // The region's times are its own clock's (the receipt's, which billing uses), not the agent's.
    expect(countersignature.startedAt).toBe(receipt.startedAt);
    expect(countersignature.endedAt).toBe(receipt.endedAt);
    expect(receipt.usage.statement.startedAt).toBe(startedAt);
    const checks = await checkReceiptOffline(view, undefined, key);
    expect(checks.filter((check) => !check.ok)).toEqual([]);
    expect(regionOf(checks)?.detail).toContain(`ed25519 by region eu-west's key ${key} (its published key)`);

    // The statement raised, or the region's times moved: the region's signature no longer holds.
    const raised = structuredClone(view);
    if (raised.receipt.kind === "charge" && raised.receipt.usage)
      raised.receipt.usage.statement.gpuSeconds = 600;
    expect(regionOf(await checkReceiptOffline(raised, undefined, key))).toMatchObject({
      ok: false,
      detail: expect.stringContaining("does not verify over the statement and the region's times"),
    });
    for (const times of [{ startedAt: (countersignature.startedAt ?? 0) + 30_000 }, { endedAt: 1 }]) {
      const moved = structuredClone(view);
      if (moved.receipt.kind === "charge" && moved.receipt.countersignature)
        Object.assign(moved.receipt.countersignature, times);
      expect(regionOf(await checkReceiptOffline(moved, undefined, key))?.ok).toBe(false);
    }
  });

  it("fails a countersignature by another region's key against the expected one", async () => {
    const { view, receipt } = await countersignedView(2);
    const { usage, countersignature } = receipt;
    if (!countersignature || !usage) throw new Error("no countersignature");
    const other = await regionSigningKey(env, "us-east");
    if (!other) throw new Error("no us-east key");
    expect(other.publicKey).not.toBe(countersignature.regionKey);
    // us-east's key signs what eu-west signed, claiming to be eu-west: the signature holds by the key it
    // names, but that key is not eu-west's.
    const forgedSignature = await countersignUsage("eu-west", usage, countersignature, other);
    const forged = structuredClone(view);
    if (forged.receipt.kind !== "charge") throw new Error("not a charge receipt");
    forged.receipt.countersignature = forgedSignature;
    forged.leafHash = receiptLeaf(forged.receipt);
    expect(regionOf(await checkReceiptOffline(forged))?.ok).toBe(true);
    expect(regionOf(await checkReceiptOffline(forged, undefined, await publishedKey("eu-west")))).toEqual({
      name: "region",
      ok: false,
      detail: `signed by ${other.publicKey}, not region eu-west's key ${countersignature.regionKey}`,
    });
    // The real one fails against another region's published key.
    const against = regionOf(await checkReceiptOffline(view, undefined, await publishedKey("us-east")));
    expect(against?.ok).toBe(false);
  });

  it("keeps a receipt from before regions countersigned verifiable, and says it has none", async () => {
    const { view } = await countersignedView(3);
    const older = structuredClone(view);
    if (older.receipt.kind !== "charge") throw new Error("not a charge receipt");
    delete older.receipt.countersignature;
    expect(regionOf(await checkReceiptOffline(older, undefined, await publishedKey("eu-west")))).toEqual({
      name: "region",
      ok: true,
      detail:
        "no region countersignature (the statement was kept before regions countersigned, or by a region with no key)",
    });
    delete older.receipt.usage;
    expect(regionOf(await checkReceiptOffline(older))?.detail).toBe(
      "no region countersignature (there is no usage statement to countersign)",
    );
  });
});
