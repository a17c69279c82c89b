import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type BenchLauncher, type BenchProcess, lineReader, tailKeeper } from "./bench-process.js";

export const BENCH_SCRIPT_PATH = fileURLToPath(new URL("./gpu-bench.py", import.meta.url));

export type BenchBackend = "auto" | "cuda" | "numpy" | "python";

export interface HostProcessOptions {
  /** The Python interpreter; its environment must have PyTorch for a GPU run. */
  python?: string;
  backend?: BenchBackend;
  /** Restricts the script to this GPU (CUDA_VISIBLE_DEVICES takes a uuid). */
  gpuUuid?: string;
}

/**
 * Runs the benchmark directly on the host: the mode for hosts without a container engine
 * (development, trusted hosts, the device machines), and for the CPU cross-check.
 */
export function hostProcessLauncher(options: HostProcessOptions = {}): BenchLauncher {
  return {
    mode: "host-process",
    launch: async (): Promise<BenchProcess> => {
      const child = spawn(
        options.python ?? "python3",
        [BENCH_SCRIPT_PATH, "--backend", options.backend ?? "auto"],
        {
          stdio: ["pipe", "pipe", "pipe"],
          env: {
            ...process.env,
            ...(options.gpuUuid ? { CUDA_VISIBLE_DEVICES: options.gpuUuid } : {}),
            PYTHONUNBUFFERED: "1",
          },
        },
      );
      const exited = new Promise<number>((resolve) => {
        child.once("error", () => resolve(-1));
        child.once("close", (code) => resolve(code ?? -1));
      });
      return {
        stdin: child.stdin,
        lines: lineReader(child.stdout),
        stderrTail: tailKeeper(child.stderr),
        exited,
        kill: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
          await exited;
        },
      };
    },
  };
}
