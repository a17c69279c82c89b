import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { templateById } from "../../src/shared/templates/catalog.js";
import { FakeApi } from "./fake-api.js";

let api: FakeApi;
let dir: string;

async function cli(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const configFile = join(dir, "config.json");
  await writeFile(configFile, JSON.stringify({ apiKey: "mk_saved" }));
  const status = await runCli(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: { HOME: dir, MERIDIAN_CONFIG: configFile, MERIDIAN_API_URL: api.url },
    fetch: globalThis.fetch,
  });
  return { status, stdout, stderr };
}

beforeAll(async () => {
  api = await FakeApi.start();
  dir = await mkdtemp(join(tmpdir(), "meridian-cli-template-"));
});
afterAll(async () => {
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

describe("meridian jobs submit --template", () => {
  it("renders the template with --set over its defaults and submits the spec", async () => {
    api.reset();
    api.json("GET /v1/templates/pytorch-train", 200, templateById("pytorch-train"));
    api.json("POST /v1/jobs", 422, { error: { code: "test_stop", message: "seen" } });
    const run = await cli([
      "jobs",
      "submit",
      "--template",
      "pytorch-train",
      "--set",
      "epochs=3",
      "--set",
      "gpus=2",
    ]);
    const sent = api.requests.find((r) => r.method === "POST");
    if (!sent) throw new Error(`nothing submitted: ${run.stderr}`);
    const spec = JSON.parse(sent.body) as { command: string[]; resources: { gpus: number }; image: string };
    expect(spec.command).toEqual([
      "torchrun",
      "--nproc-per-node",
      "2",
      "/workspace/train.py",
      "--epochs",
      "3",
    ]);
    expect(spec.resources.gpus).toBe(2);
    expect(spec.image).toContain("pytorch");
  });

  it("refuses an unknown parameter and a non-number where a number goes, sending nothing", async () => {
    api.reset();
    api.json("GET /v1/templates/pytorch-train", 200, templateById("pytorch-train"));
    const typo = await cli(["jobs", "submit", "--template", "pytorch-train", "--set", "epoch=3"]);
    expect(typo.status).not.toBe(0);
    expect(typo.stderr).toContain("no parameter epoch");
    const nan = await cli(["jobs", "submit", "--template", "pytorch-train", "--set", "gpus=many"]);
    expect(nan.stderr).toContain("gpus must be a number");
    const orphan = await cli(["jobs", "submit", "--set", "epochs=3", "--name", "x", "--image", "busybox"]);
    expect(orphan.stderr).toContain("--template");
    expect(api.requests.filter((r) => r.method === "POST")).toHaveLength(0);
  });
});
