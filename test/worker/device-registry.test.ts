import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { DeviceClaim } from "../../src/durable/verification/attested-twins.js";
import { type DeviceHolder, d1DeviceRegistry } from "../../src/durable/verification/device-registry.js";
import { NODE, OTHER_NODE, T0 } from "../verification/support.js";
import { answerHonestly, deskWith, EVIDENCE } from "./attestation-desk-support.js";

/**
 * One physical GPU enrolled in two regions (issue 14: each GPU once in the network). Each region's
 * desk knows only its own nodes; the D1 registry (the real `attested_devices` table in workerd)
 * is what tells the second region that nvtrust's GH100 already attests for a node of the first.
 */

const DEVICE = "41431D480FE5E87274";
const registry = d1DeviceRegistry(env.DB);

/** A node row in D1's registry, as registration writes it, reporting `uuids`. */
async function registerInD1(nodeId: string, region: string, uuids: string[]): Promise<void> {
  const hardware = JSON.stringify({ gpus: uuids.map((uuid, index) => ({ uuid, index, model: "H100-SXM" })) });
  await env.DB.prepare(
    `INSERT INTO nodes (id, public_key, region, hardware, gpu_count, price_per_gpu_hour_micros, labels,
       agent_version, registered_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, '{}', 'test', ?, ?)`,
  )
    .bind(nodeId, `key-${nodeId}`, region, hardware, uuids.length, T0, T0)
    .run();
}

function claimFor(nodeId: string, region: string): DeviceClaim {
  return (deviceId, gpuUuid) => registry.claim(deviceId, { nodeId, region, gpuUuid }, Date.now());
}

async function rows(): Promise<Record<string, unknown>[]> {
  return (await env.DB.prepare("SELECT * FROM attested_devices ORDER BY device_id").all()).results;
}

beforeEach(async () => {
  await env.DB.batch([env.DB.prepare("DELETE FROM attested_devices"), env.DB.prepare("DELETE FROM nodes")]);
});

describe("the network-wide registry of attested devices", () => {
  it("makes the second region's node a device twin of the first's, naming the region, and leaves the first attested", async () => {
    await registerInD1(NODE, "us-east", [`GPU-${NODE}`]);
    await registerInD1(OTHER_NODE, "eu-west", [`GPU-${OTHER_NODE}`]);
    const usEast = deskWith({ [NODE]: "H100-SXM" });
    const euWest = deskWith({ [OTHER_NODE]: "H100-SXM" });

    const first = await answerHonestly(usEast, NODE, EVIDENCE, undefined, claimFor(NODE, "us-east"));
    expect(first.outcome).toBe("verified");
    expect(first.attestation).toMatchObject({ status: "attested", deviceId: DEVICE });

    const second = await answerHonestly(
      euWest,
      OTHER_NODE,
      EVIDENCE,
      undefined,
      claimFor(OTHER_NODE, "eu-west"),
    );
    expect(second.outcome).toBe("suspect");
    expect(second.attestation).toMatchObject({
      status: "failed",
      reason: { code: "attestation_device_twin" },
    });
    const reason = second.reasons.find((r) => r.code === "attestation_device_twin");
    expect(reason?.message).toBe(
      `attestation: device ${DEVICE} is already attested as GPU GPU-${NODE} of node ${NODE} in region us-east`,
    );
    expect(euWest.status(OTHER_NODE)?.assurance).not.toBe("attested");
    expect(euWest.attested(OTHER_NODE)).toBe(false);
    expect(euWest.eligibleForWork(OTHER_NODE)).toBe(false);
    expect(usEast.attested(NODE)).toBe(true);
    // The registry still names the first holder: the twin took nothing.
    expect(await rows()).toEqual([
      expect.objectContaining({
        device_id: DEVICE,
        node_id: NODE,
        region: "us-east",
        gpu_uuid: `GPU-${NODE}`,
      }),
    ]);
  });

  it("keeps a holder's first attestation time when it attests again, and reports no twin", async () => {
    await registerInD1(NODE, "us-east", ["GPU-a"]);
    const holder: DeviceHolder = { nodeId: NODE, region: "us-east", gpuUuid: "GPU-a" };
    expect(await registry.claim(DEVICE, holder, 1_000)).toBeUndefined();
    expect(await registry.claim(DEVICE, holder, 5_000)).toBeUndefined();
    expect(await rows()).toEqual([
      expect.objectContaining({ node_id: NODE, first_attested_at: 1_000, last_attested_at: 5_000 }),
    ]);
  });

  it("hands the device over only when its holder no longer reports the GPU", async () => {
    await registerInD1(NODE, "us-east", ["GPU-a"]);
    const first: DeviceHolder = { nodeId: NODE, region: "us-east", gpuUuid: "GPU-a" };
    const second: DeviceHolder = { nodeId: OTHER_NODE, region: "eu-west", gpuUuid: "GPU-b" };
    expect(await registry.claim(DEVICE, first, 1_000)).toBeUndefined();
    expect(await registry.claim(DEVICE, second, 2_000)).toEqual(first);
    // The first node registered again without that GPU (the board moved): the device is free.
    await env.DB.prepare("UPDATE nodes SET hardware = ? WHERE id = ?")
      .bind(JSON.stringify({ gpus: [{ uuid: "GPU-c", index: 0 }] }), NODE)
      .run();
    expect(await registry.claim(DEVICE, second, 3_000)).toBeUndefined();
    expect(await rows()).toEqual([
      expect.objectContaining({ node_id: OTHER_NODE, region: "eu-west", first_attested_at: 3_000 }),
    ]);
    // And a node gone from the registry holds nothing either.
    await env.DB.prepare("DELETE FROM nodes").run();
    expect(await registry.claim(DEVICE, first, 4_000)).toBeUndefined();
  });

  it("gives one winner when two regions claim the same device at once", async () => {
    const claims = await Promise.all(
      ["us-east", "eu-west", "ap-south"].map((region, index) =>
        registry.claim(DEVICE, { nodeId: `node-${index}`, region, gpuUuid: `GPU-${index}` }, 1_000),
      ),
    );
    // No node row exists, so each claim may take over a holder that reports nothing; register
    // the winner and every later claim is refused.
    const [winner] = await rows();
    expect(winner).toBeDefined();
    expect(claims.filter((c) => c === undefined).length).toBeGreaterThanOrEqual(1);
    await registerInD1(String(winner?.node_id), String(winner?.region), [String(winner?.gpu_uuid)]);
    for (const [index, region] of ["us-east", "eu-west", "ap-south"].entries()) {
      const nodeId = `node-${index}`;
      const other = await registry.claim(DEVICE, { nodeId, region, gpuUuid: `GPU-${index}` }, 2_000);
      if (nodeId === winner?.node_id) expect(other).toBeUndefined();
      else expect(other).toMatchObject({ nodeId: winner?.node_id, region: winner?.region });
    }
  });
});
