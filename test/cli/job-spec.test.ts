import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliError, UsageError } from "../../src/cli/cli-error.js";
import { checkJobSpec, formatPath } from "../../src/cli/job-spec-check.js";
import { parseJobSpecText, readJobSpecFile } from "../../src/cli/job-spec-file.js";
import { buildJobSpec } from "../../src/cli/job-spec-flags.js";

const HELLO_YAML = `name: hello
image: meridian/busybox:test
command: [sh, -c, "echo hello from $HOSTNAME"]
env:
  GREETING: hi
resources:
  gpus: 0
maxPricePerGpuHour: "2.10"
`;

function specError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof CliError) return `${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error("expected a CliError");
}

describe("spec files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "meridian-cli-spec-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads YAML and JSON files into plain objects", async () => {
    const yamlPath = join(dir, "hello.yaml");
    await writeFile(yamlPath, HELLO_YAML);
    const fromYaml = await readJobSpecFile(yamlPath);
    expect(fromYaml).toMatchObject({ name: "hello", command: ["sh", "-c", "echo hello from $HOSTNAME"] });
    expect(checkJobSpec(fromYaml, yamlPath)).toBe(fromYaml);

    const jsonPath = join(dir, "hello.json");
    await writeFile(jsonPath, JSON.stringify(fromYaml));
    expect(await readJobSpecFile(jsonPath)).toEqual(fromYaml);
  });

  it("checks the repository's example spec", async () => {
    const example = await readJobSpecFile(join(import.meta.dirname, "../../examples/hello.yaml"));
    expect(() => checkJobSpec(example, "examples/hello.yaml")).not.toThrow();
  });

  it("names a missing file, bad syntax and a non-mapping", async () => {
    await expect(readJobSpecFile(join(dir, "absent.yaml"))).rejects.toThrow(
      /cannot read .*absent\.yaml \(ENOENT\)/,
    );
    expect(specError(() => parseJobSpecText("name: [unclosed", "bad.yaml"))).toMatch(
      /^invalid_spec: bad\.yaml is not valid YAML: /,
    );
    expect(specError(() => parseJobSpecText("{", "bad.json"))).toMatch(
      /^invalid_spec: bad\.json is not valid JSON/,
    );
    expect(specError(() => parseJobSpecText("- a\n- b\n", "list.yaml"))).toMatch(/must hold a mapping/);
  });

  it("lists every problem with its path, and the flag that sets it", () => {
    const spec = parseJobSpecText(
      `image: "Not An Image"
nmae: typo
resources:
  gpus: 0
  gpuModels: [NOPE]
env:
  MERIDIAN_TOKEN: x
maxPricePerGpuHour: "1.1234567"
`,
      "bad.yaml",
    );
    const message = specError(() => checkJobSpec(spec, "bad.yaml"));
    expect(message.split("\n")).toEqual([
      "invalid_spec: invalid job spec (bad.yaml):",
      "  name (--name): required",
      '  image (--image): a container image reference such as "ghcr.io/org/trainer:1.2"',
      "  env.MERIDIAN_TOKEN: names starting MERIDIAN_ are set by Meridian",
      "  resources.gpus (--gpus): gpuModels and minVramGb need at least one GPU (resources.gpus ≥ 1)",
      '  resources.gpuModels[0] (--gpu-model): unknown GPU model "NOPE"; see GET /v1/gpu-models',
      '  maxPricePerGpuHour (--max-price): must be a non-negative USD amount with at most 6 decimal places, e.g. "2.10"',
      '  Unrecognized key: "nmae"',
    ]);
  });

  it("formats paths the way a YAML reader points at them", () => {
    expect(formatPath(["resources", "gpuModels", 2])).toBe("resources.gpuModels[2]");
    expect(formatPath([])).toBe("");
  });
});

describe("buildJobSpec", () => {
  it("turns flags into a spec the server accepts", () => {
    const spec = buildJobSpec(
      {},
      {
        name: "train",
        image: "ghcr.io/org/trainer:1.2",
        gpus: "2",
        "gpu-model": ["H100-SXM", "A100-80GB"],
        "min-vram-gb": "40",
        cpus: "8",
        "memory-gb": "32.5",
        region: "eu-west",
        "max-price": "2.10",
        timeout: "600",
        "max-retries": "1",
        env: ["EPOCHS=3", "URL=http://x/?a=b"],
      },
      ["python", "train.py"],
    );
    expect(spec).toEqual({
      name: "train",
      image: "ghcr.io/org/trainer:1.2",
      command: ["python", "train.py"],
      env: { EPOCHS: "3", URL: "http://x/?a=b" },
      resources: { gpus: 2, gpuModels: ["H100-SXM", "A100-80GB"], minVramGb: 40, cpus: 8, memoryGb: 32.5 },
      region: "eu-west",
      maxPricePerGpuHour: "2.10",
      timeoutSeconds: 600,
      maxRetries: 1,
    });
    expect(() => checkJobSpec(spec, "command line")).not.toThrow();
  });

  it("lays flags over a file: fields replaced, env merged, command replaced", () => {
    const base = parseJobSpecText(HELLO_YAML, "hello.yaml");
    const spec = buildJobSpec(base, { name: "renamed", cpus: "2", env: ["EXTRA=1"] }, ["true"]);
    expect(spec).toMatchObject({
      name: "renamed",
      image: "meridian/busybox:test",
      command: ["true"],
      env: { GREETING: "hi", EXTRA: "1" },
      resources: { gpus: 0, cpus: 2 },
    });
    expect(buildJobSpec(base, {}, [])).toEqual(base);
  });

  it("adds nothing the user did not give", () => {
    expect(buildJobSpec({}, { name: "n", image: "busybox" }, [])).toEqual({ name: "n", image: "busybox" });
  });

  it("refuses numbers and env pairs it cannot read", () => {
    expect(() => buildJobSpec({}, { gpus: "two" }, [])).toThrow(UsageError);
    expect(() => buildJobSpec({}, { timeout: "" }, [])).toThrow('--timeout must be a number, got ""');
    expect(() => buildJobSpec({}, { env: ["NOVALUE"] }, [])).toThrow('--env takes NAME=VALUE, got "NOVALUE"');
    expect(() => buildJobSpec({}, { env: ["=x"] }, [])).toThrow(UsageError);
  });
});
