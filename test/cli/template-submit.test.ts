import { describe, expect, it } from "vitest";
import { templateById } from "../../src/shared/templates/catalog.js";
import { cliRigForThisFile } from "./cli-rig.js";

const rig = cliRigForThisFile();
const { cli } = rig;

describe("meridian jobs submit --template", () => {
  it("renders the template with --set over its defaults and submits the spec", async () => {
    rig.api.json("GET /v1/templates/pytorch-train", 200, templateById("pytorch-train"));
    rig.api.json("POST /v1/jobs", 422, { error: { code: "test_stop", message: "seen" } });
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
    const sent = rig.api.requests.find((r) => r.method === "POST");
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
    rig.api.json("GET /v1/templates/pytorch-train", 200, templateById("pytorch-train"));
    const typo = await cli(["jobs", "submit", "--template", "pytorch-train", "--set", "epoch=3"]);
    expect(typo.status).not.toBe(0);
    expect(typo.stderr).toContain("no parameter epoch");
    const nan = await cli(["jobs", "submit", "--template", "pytorch-train", "--set", "gpus=many"]);
    expect(nan.stderr).toContain("gpus must be a number");
    const orphan = await cli(["jobs", "submit", "--set", "epochs=3", "--name", "x", "--image", "busybox"]);
    expect(orphan.stderr).toContain("--template");
    expect(rig.api.requests.filter((r) => r.method === "POST")).toHaveLength(0);
  });
});
