import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectGpus, parseComputeCapCsv, parseNvidiaSmiXml } from "../../src/agent/gpu-detect.js";

const FIXTURE = join(import.meta.dirname, "../fixtures/nvidia-smi/h100-80gb-hbm3.xml");

describe("nvidia-smi parsing", () => {
  it("reads the H100 from real nvidia-smi -q -x output", async () => {
    const gpus = parseNvidiaSmiXml(await readFile(FIXTURE, "utf8"));
    expect(gpus).toEqual([
      {
        index: 0,
        uuid: "GPU-7e109102-2255-084b-6271-2c83c6960a41",
        name: "NVIDIA H100 80GB HBM3",
        model: "H100-SXM",
        vramMib: 81559,
        driverVersion: "580.159.04",
        cudaVersion: "13.0",
      },
    ]);
  });

  it("lists several GPUs in index order and leaves unknown parts without a model", async () => {
    const xml = (await readFile(FIXTURE, "utf8")).replace(/<gpu id=[\s\S]*<\/gpu>/, (gpu) =>
      [gpu, gpu.replace("NVIDIA H100 80GB HBM3", "NVIDIA Future 9000").replace(/GPU-7e10/g, "GPU-aaaa")].join(
        "\n",
      ),
    );
    const gpus = parseNvidiaSmiXml(xml);
    expect(gpus.map((gpu) => [gpu.index, gpu.name, gpu.model, gpu.uuid.slice(0, 8)])).toEqual([
      [0, "NVIDIA H100 80GB HBM3", "H100-SXM", "GPU-7e10"],
      [1, "NVIDIA Future 9000", undefined, "GPU-aaaa"],
    ]);
  });

  it("reads compute capabilities from the query interface", () => {
    expect(parseComputeCapCsv("GPU-1, 9.0\nGPU-2, [N/A]\n")).toEqual(new Map([["GPU-1", "9.0"]]));
  });
});

describe("detectGpus", () => {
  it("runs the given nvidia-smi and merges in the compute capability", async () => {
    const dir = await mkdtemp(join(tmpdir(), "meridian-smi-"));
    const fake = join(dir, "nvidia-smi");
    await writeFile(
      fake,
      `#!/bin/sh\nif [ "$1" = "-q" ]; then cat '${FIXTURE}'; else echo 'GPU-7e109102-2255-084b-6271-2c83c6960a41, 9.0'; fi\n`,
    );
    await chmod(fake, 0o755);
    const detection = await detectGpus(fake);
    expect(detection.note).toBeUndefined();
    expect(detection.gpus).toHaveLength(1);
    expect(detection.gpus[0]).toMatchObject({ model: "H100-SXM", computeCapability: "9.0", vramMib: 81559 });
  });

  it("finds no GPU, and says why, when nvidia-smi is missing", async () => {
    const detection = await detectGpus("/nonexistent/nvidia-smi");
    expect(detection.gpus).toEqual([]);
    expect(detection.note).toContain("not found");
  });
});
