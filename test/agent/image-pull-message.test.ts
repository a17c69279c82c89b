import { describe, expect, it } from "vitest";
import { DockerRuntime } from "../../src/agent/docker-runtime.js";
import { imageLocation, pullFailureText } from "../../src/agent/image-pull-message.js";
import { dockerAvailable, REGISTRY_IMAGE, registryAvailable } from "../support/docker.js";

describe("where an image is looked for", () => {
  it("follows Docker's naming: Docker Hub by default, a host with a dot, colon or localhost otherwise", () => {
    expect(imageLocation("busybox")).toEqual({
      registry: "docker.io",
      repository: "library/busybox",
      reference: "latest",
    });
    expect(imageLocation("org/app:1.2")).toEqual({
      registry: "docker.io",
      repository: "org/app",
      reference: "1.2",
    });
    expect(imageLocation("ghcr.io/org/trainer:1.2")).toEqual({
      registry: "ghcr.io",
      repository: "org/trainer",
      reference: "1.2",
    });
    expect(imageLocation("127.0.0.1:5000/meridian/busybox")).toEqual({
      registry: "127.0.0.1:5000",
      repository: "meridian/busybox",
      reference: "latest",
    });
    expect(imageLocation("localhost/app@sha256:abc").reference).toBe("sha256:abc");
  });

  it("tells an unreachable registry from a missing image", () => {
    expect(
      pullFailureText("ghcr.io/x/y:1", 'Get "https://ghcr.io/v2/": dial tcp: lookup ghcr.io: no such host'),
    ).toContain("its registry ghcr.io did not answer from this node");
  });
});

describe.skipIf(!dockerAvailable("image pull message") || !registryAvailable("image pull message"))(
  "a missing image on a real registry",
  () => {
    it("says the image was not found and where the engine looked, not the raw resolver error", async () => {
      const runtime = new DockerRuntime({
        stopGraceSeconds: 1,
        extraLabels: { "meridian.test": "pull-message" },
      });
      const missing = `${REGISTRY_IMAGE.replace(/:[^:/]+$/, "")}:no-such-tag`;
      const error = await runtime.ensureImage(missing).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(Error);
      const registry = missing.split("/")[0] ?? "";
      expect((error as Error).message).toContain(`image ${missing} was not found: looked for`);
      expect((error as Error).message).toContain(`:no-such-tag on ${registry}`);
    });
  },
);
