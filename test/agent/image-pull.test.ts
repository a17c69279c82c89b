import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { DockerRuntime } from "../../src/agent/docker-runtime.js";
import { newId } from "../../src/shared/ids.js";
import { dockerAvailable, REGISTRY_IMAGE, registryAvailable } from "../support/docker.js";

function removeLocalCopy(): void {
  try {
    execFileSync("docker", ["rmi", "-f", REGISTRY_IMAGE], { stdio: "pipe" });
  } catch {
    // not present: nothing to remove
  }
}

describe.skipIf(!dockerAvailable("agent image pull") || !registryAvailable("agent image pull"))(
  "agent image pull",
  () => {
    const runtime = new DockerRuntime({
      stopGraceSeconds: 1,
      extraLabels: { "meridian.test": "image-pull" },
    });

    it("pulls an image that is absent, from a real registry, then runs it", async () => {
      removeLocalCopy();
      await runtime.ensureImage(REGISTRY_IMAGE);
      const inspected = execFileSync("docker", ["image", "inspect", REGISTRY_IMAGE, "--format", "{{.Id}}"], {
        encoding: "utf8",
      });
      expect(inspected.trim()).toMatch(/^sha256:/);

      let out = "";
      const container = await runtime.start(
        {
          jobId: newId("job"),
          attemptId: newId("att"),
          nodeId: newId("node"),
          image: REGISTRY_IMAGE,
          command: ["echo", "pulled and ran"],
          env: {},
          gpuUuids: [],
          cpus: 0.5,
          memoryMib: 64,
        },
        (_stream, data) => {
          out += data;
        },
      );
      const exit = await container.exited;
      expect(exit.exitCode).toBe(0);
      expect(out).toBe("pulled and ran\n");
      await container.remove();
      removeLocalCopy();
    });
  },
);
