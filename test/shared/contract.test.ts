import * as ed from "@noble/ed25519";
import { describe, expect, it } from "vitest";
import {
  authorizationDigest,
  canonicalString,
  publicKeyOf,
  sha256Hex,
  signParts,
  verifyParts,
} from "../../src/shared/agent-signature.js";
import { decodeBase58, encodeBase58 } from "../../src/shared/base58.js";
import { gpuModelForReportedName } from "../../src/shared/gpu-catalog.js";
import { idPattern, newId, nodeIdForPublicKey } from "../../src/shared/ids.js";
import { isValidImageRef } from "../../src/shared/image-ref.js";
import { JobSpec } from "../../src/shared/job-spec.js";
import { formatUsd, parseUsd } from "../../src/shared/money.js";
import { nearestRegion } from "../../src/shared/regions.js";

describe("money", () => {
  it("parses decimal USD to integer micro-dollars exactly", () => {
    expect(parseUsd("2.10")).toBe(2_100_000);
    expect(parseUsd("0.000001")).toBe(1);
    expect(parseUsd("0.1")).toBe(100_000);
    expect(parseUsd("123456789.999999")).toBe(123_456_789_999_999);
    for (const bad of ["-1", "1e3", "1.0000001", "", ".5", "01", "NaN", "1,5"])
      expect(parseUsd(bad)).toBeUndefined();
  });

  it("formats micro-dollars back without losing precision", () => {
    expect(formatUsd(2_100_000)).toBe("2.10");
    expect(formatUsd(1)).toBe("0.000001");
    expect(formatUsd(1_234_500)).toBe("1.2345");
    expect(formatUsd(0)).toBe("0.00");
  });
});

describe("base58", () => {
  it("round-trips keys and keeps leading zeros", () => {
    for (const bytes of [new Uint8Array([0, 0, 1, 2, 255]), crypto.getRandomValues(new Uint8Array(32))]) {
      expect(decodeBase58(encodeBase58(bytes))).toEqual(bytes);
    }
    expect(encodeBase58(new Uint8Array([0, 0, 0]))).toBe("111");
    expect(decodeBase58("0OIl")).toBeUndefined();
  });
});

describe("agent signatures", () => {
  it("verify only for the key, request and body that were signed", async () => {
    const secret = ed.utils.randomSecretKey();
    const publicKey = await publicKeyOf(secret);
    const parts = {
      method: "POST",
      host: "meridian.example.com",
      pathAndQuery: "/v1/agent/poll",
      region: "eu-west",
      authorization: await authorizationDigest("Bearer mk_a"),
      bodySha256: await sha256Hex("{}"),
      timestamp: 1,
      nonce: "abc",
    };
    const signature = await signParts(secret, parts);
    expect(await verifyParts(publicKey, signature, parts)).toBe(true);
    expect(await verifyParts(publicKey, signature, { ...parts, bodySha256: await sha256Hex("{ }") })).toBe(
      false,
    );
    expect(await verifyParts(publicKey, signature, { ...parts, pathAndQuery: "/v1/agent/register" })).toBe(
      false,
    );
    expect(await verifyParts(await publicKeyOf(ed.utils.randomSecretKey()), signature, parts)).toBe(false);
    expect(await verifyParts(publicKey, "not base64!", parts)).toBe(false);
    // Bound to its target: another host, region or Authorization header does not verify.
    expect(await verifyParts(publicKey, signature, { ...parts, host: "staging.example.com" })).toBe(false);
    expect(await verifyParts(publicKey, signature, { ...parts, region: "us-east" })).toBe(false);
    expect(await verifyParts(publicKey, signature, { ...parts, region: "" })).toBe(false);
    expect(
      await verifyParts(publicKey, signature, {
        ...parts,
        authorization: await authorizationDigest("Bearer mk_b"),
      }),
    ).toBe(false);
    expect(await verifyParts(publicKey, signature, { ...parts, authorization: "-" })).toBe(false);
    expect(canonicalString(parts).split("\n")).toHaveLength(9);
  });
});

describe("ids", () => {
  it("are prefixed, sortable by time and match their pattern", async () => {
    const a = newId("job", 1_000);
    const b = newId("job", 2_000);
    expect(a < b).toBe(true);
    expect(a).toMatch(idPattern("job"));
    const node = await nodeIdForPublicKey("abc");
    expect(node).toMatch(idPattern("node"));
    expect(await nodeIdForPublicKey("abc")).toBe(node);
  });
});

describe("image references", () => {
  it("accepts Docker's grammar and refuses the rest", () => {
    for (const ok of [
      "busybox",
      "meridian/busybox:test",
      "ghcr.io/org/trainer:1.2",
      "localhost:5000/a/b",
      "nvcr.io/nvidia/pytorch:24.01-py3",
      `alpine@sha256:${"a".repeat(64)}`,
    ]) {
      expect(isValidImageRef(ok), ok).toBe(true);
    }
    for (const bad of ["", "UPPER/case", "a b", "a:", ":tag", "a//b", `a:${"t".repeat(200)}`, "-a"]) {
      expect(isValidImageRef(bad), bad).toBe(false);
    }
  });
});

describe("job spec", () => {
  it("fills defaults and converts the price cap to micro-dollars", () => {
    const spec = JobSpec.parse({ name: "x", image: "busybox", maxPricePerGpuHour: 2.5 });
    expect(spec).toMatchObject({
      command: [],
      env: {},
      resources: { gpus: 0, cpus: 1, memoryGb: 1 },
      timeoutSeconds: 3600,
      maxPricePerGpuHour: 2_500_000,
    });
  });
});

describe("catalogue and regions", () => {
  it("maps nvidia-smi names to models and points to the nearest region", () => {
    expect(gpuModelForReportedName("NVIDIA H100 80GB HBM3")?.id).toBe("H100-SXM");
    expect(gpuModelForReportedName("nvidia a100-sxm4-80gb")?.id).toBe("A100-80GB");
    expect(gpuModelForReportedName("Matrox G200")).toBeUndefined();
    const regions = [
      { id: "eu-west", lat: 50.1, lon: 8.7 },
      { id: "us-east", lat: 39, lon: -77.5 },
    ];
    expect(nearestRegion(regions, 48.8, 2.3)?.id).toBe("eu-west");
    expect(nearestRegion(regions, 40.7, -74)?.id).toBe("us-east");
  });
});
