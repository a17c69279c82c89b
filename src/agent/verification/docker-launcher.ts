import { readFile } from "node:fs/promises";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { buildHostConfig } from "../docker-runtime.js";
import { type BenchLauncher, type BenchProcess, lineReader, tailKeeper } from "./bench-process.js";
import { BENCH_SCRIPT_PATH } from "./host-process-launcher.js";

/**
 * Any image with python3 and a CUDA build of PyTorch runs the benchmark: the script travels as the
 * container's command (`python3 -c`), so no Meridian-built image is needed and the provider can
 * pre-pull this one. Override with MERIDIAN_BENCH_IMAGE.
 */
export const DEFAULT_BENCH_IMAGE = "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime";

export function benchImage(env: NodeJS.ProcessEnv = process.env): string {
  return env.MERIDIAN_BENCH_IMAGE || DEFAULT_BENCH_IMAGE;
}

export interface DockerLauncherOptions {
  docker: Docker;
  gpuUuid: string;
  image?: string;
}

/**
 * Runs the benchmark where jobs run: a container with exactly the GPU under test, the same
 * isolation as a job (docker-runtime.ts's host config: no capabilities, no mounts), stdin open for
 * the spot-check request.
 */
export function dockerLauncher(options: DockerLauncherOptions): BenchLauncher {
  const image = options.image ?? benchImage();
  return {
    mode: "container",
    image,
    launch: async (): Promise<BenchProcess> => {
      const script = await readFile(BENCH_SCRIPT_PATH, "utf8");
      const container = await options.docker.createContainer({
        Image: image,
        Cmd: ["python3", "-c", script, "--backend", "cuda"],
        OpenStdin: true,
        StdinOnce: true,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        Labels: { "meridian.verification": options.gpuUuid },
        HostConfig: {
          ...buildHostConfig({ cpus: 0, memoryMib: 0, gpuUuids: [options.gpuUuid] }),
          AutoRemove: true,
        },
      });
      const stream = await container.attach({
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        hijack: true,
      });
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      options.docker.modem.demuxStream(stream, stdout, stderr);
      stream.once("end", () => {
        stdout.end();
        stderr.end();
      });
      await container.start();
      const exited = container.wait().then(
        (result: unknown) =>
          typeof result === "object" &&
          result !== null &&
          "StatusCode" in result &&
          typeof result.StatusCode === "number"
            ? result.StatusCode
            : -1,
        () => -1,
      );
      return {
        stdin: stream,
        lines: lineReader(stdout),
        stderrTail: tailKeeper(stderr),
        exited,
        kill: async () => {
          // 404/409: already gone or going (AutoRemove); either way it is not running.
          await container.remove({ force: true }).catch(() => undefined);
          await exited;
        },
      };
    },
  };
}
