import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runDoctor } from "../../src/agent/commands/doctor.js";
import {
  checkToolkit,
  compareVersions,
  parseToolkitVersion,
  readToolkitVersion,
} from "../../src/agent/commands/toolkit-check.js";

const H100 = {
  index: 0,
  uuid: "GPU-aaaa",
  name: "NVIDIA H100 80GB HBM3",
  model: "H100-SXM",
  vramMib: 81_559,
};

describe("NVIDIA Container Toolkit check", () => {
  const path = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path;
  });

  it("reads the version both tools print", () => {
    expect(parseToolkitVersion("NVIDIA Container Toolkit CLI version 1.17.8\ncommit: f202b80a9b9d")).toBe(
      "1.17.8",
    );
    expect(parseToolkitVersion("cli-version: 1.16.1\nlib-version: 1.16.1\nbuild date: 2024-07-23")).toBe(
      "1.16.1",
    );
    expect(parseToolkitVersion("something else")).toBeUndefined();
  });

  it("compares versions numerically", () => {
    expect(compareVersions("1.17.10", "1.17.8")).toBe(1);
    expect(compareVersions("1.17", "1.17.0")).toBe(0);
    expect(compareVersions("1.9.0", "1.16.2")).toBe(-1);
  });

  it.each([
    ["1.14.6", ["CVE-2024-0132", "CVE-2025-23266"]],
    ["1.16.2", ["CVE-2025-23266"]],
    ["1.17.7", ["CVE-2025-23266"]],
  ])("fails %s, naming %j and the upgrade", (version, cves) => {
    const result = checkToolkit({ version, tool: "nvidia-ctk" }, true);
    expect(result.status).toBe("fail");
    for (const cve of cves) expect(result.message).toContain(cve);
    if (cves.length === 1) expect(result.message).not.toContain("CVE-2024-0132");
    expect(result.fix).toContain("1.17.8");
    expect(result.fix).toContain("nvidia-container-toolkit");
  });

  it("passes 1.17.8 and later; without the toolkit fails a GPU host and skips a CPU one", () => {
    expect(checkToolkit({ version: "1.17.8", tool: "nvidia-ctk" }, true).status).toBe("ok");
    expect(checkToolkit({ version: "1.18.0", tool: "nvidia-ctk" }, true).status).toBe("ok");
    expect(checkToolkit(undefined, true).status).toBe("fail");
    expect(checkToolkit(undefined, false).status).toBe("skip");
  });

  it("asks the installed nvidia-ctk (a real executable on PATH) and reports it in the doctor", async () => {
    const bin = await mkdtemp(join(tmpdir(), "meridian-ctk-"));
    await writeFile(
      join(bin, "nvidia-ctk"),
      "#!/bin/sh\necho 'NVIDIA Container Toolkit CLI version 1.16.1'\necho 'commit: abc'\n",
    );
    await chmod(join(bin, "nvidia-ctk"), 0o755);
    process.env.PATH = `${bin}:${path ?? ""}`;
    expect(await readToolkitVersion()).toEqual({ version: "1.16.1", tool: "nvidia-ctk" });
    const dataDir = await mkdtemp(join(tmpdir(), "meridian-doctor-"));
    await chmod(dataDir, 0o700);
    const results = await runDoctor({
      dataDir,
      runtime: "docker",
      detectGpus: async () => ({ gpus: [H100] }),
      pingDocker: async () => true,
      dockerLocation: "/var/run/docker.sock",
      probeGpuContainer: async () => "GPU 0",
      health: async () => ({ serverTime: 1_000_000, localMidpoint: 1_000_300, rttMs: 40 }),
      toolkitVersion: readToolkitVersion,
    });
    expect(results.find((result) => result.name === "NVIDIA Container Toolkit")).toMatchObject({
      status: "fail",
      message: expect.stringContaining("CVE-2024-0132"),
    });
  });
});
