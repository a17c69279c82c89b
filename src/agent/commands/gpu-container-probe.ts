import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { buildHostConfig } from "../docker-runtime.js";

/**
 * Runs `nvidia-smi -L` in a short-lived container that requests one GPU, the way jobs request
 * theirs. The benchmark image is used because the provider pre-pulls it anyway and it has glibc
 * for the nvidia-smi the NVIDIA runtime mounts in.
 */
export async function probeGpuContainer(docker: Docker, image: string, gpuUuid: string): Promise<string> {
  const present = await docker
    .getImage(image)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (!present) throw new Error(`the benchmark image ${image} is not pulled yet: docker pull ${image}`);
  const container = await docker.createContainer({
    Image: image,
    Cmd: ["nvidia-smi", "-L"],
    Env: ["NVIDIA_DRIVER_CAPABILITIES=utility"],
    Labels: { "meridian.doctor": "gpu-probe" },
    HostConfig: buildHostConfig({ cpus: 0, memoryMib: 0, gpuUuids: [gpuUuid] }),
  });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const output = new PassThrough();
    let text = "";
    output.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
    });
    docker.modem.demuxStream(stream, output, output);
    await container.start();
    const result: unknown = await container.wait();
    const status =
      typeof result === "object" && result !== null && "StatusCode" in result ? result.StatusCode : -1;
    if (status !== 0) throw new Error(`nvidia-smi in the container exited ${String(status)}: ${text.trim()}`);
    return text.trim();
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}
