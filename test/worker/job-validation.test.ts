import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { authed, call, expectError, jsonInit, signup, submit } from "./support.js";

const good = { name: "hello", image: "meridian/busybox:test", command: ["echo", "hi"] };

async function jobCount(): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs").first<{ n: number }>();
  const events = await env.DB.prepare("SELECT COUNT(*) AS n FROM job_events").first<{ n: number }>();
  return (row?.n ?? 0) * 1000 + (events?.n ?? 0);
}

describe("job submission validation", () => {
  let apiKey = "";
  beforeAll(async () => {
    apiKey = (await signup()).apiKey;
  });

  const badSpecs: [string, unknown, number, string][] = [
    ["unknown field", { ...good, gpu: 1 }, 400, "invalid_request"],
    ["wrong type", { ...good, command: "echo hi" }, 400, "invalid_request"],
    ["missing image", { name: "x" }, 400, "invalid_request"],
    ["invalid image reference", { ...good, image: "Not A/Valid::ref" }, 400, "invalid_request"],
    ["image with uppercase path", { ...good, image: "Ubuntu:22.04" }, 400, "invalid_request"],
    [
      "0 GPUs with a GPU model",
      { ...good, resources: { gpus: 0, gpuModels: ["H100-SXM"] } },
      400,
      "invalid_request",
    ],
    [
      "unknown GPU model",
      { ...good, resources: { gpus: 1, gpuModels: ["GTX-9999"] } },
      400,
      "invalid_request",
    ],
    ["10,000 GPUs", { ...good, resources: { gpus: 10_000 } }, 400, "invalid_request"],
    ["negative CPUs", { ...good, resources: { cpus: -1 } }, 400, "invalid_request"],
    ["absurd memory", { ...good, resources: { memoryGb: 1e9 } }, 400, "invalid_request"],
    ["fractional GPUs", { ...good, resources: { gpus: 1.5 } }, 400, "invalid_request"],
    ["negative price", { ...good, maxPricePerGpuHour: "-1" }, 400, "invalid_request"],
    ["price with too many decimals", { ...good, maxPricePerGpuHour: "1.0000001" }, 400, "invalid_request"],
    ["zero timeout", { ...good, timeoutSeconds: 0 }, 400, "invalid_request"],
    ["reserved env name", { ...good, env: { MERIDIAN_JOB_ID: "x" } }, 400, "invalid_request"],
    ["bad env name", { ...good, env: { "1BAD": "x" } }, 400, "invalid_request"],
    ["command over 32 KiB", { ...good, command: ["sh", "-c", "x".repeat(40_000)] }, 400, "invalid_request"],
    ["unknown region", { ...good, region: "mars-north" }, 400, "unknown_region"],
    ["a JSON array", [good], 400, "invalid_request"],
  ];

  for (const [what, spec, status, code] of badSpecs) {
    it(`refuses ${what} with ${status} ${code} and stores nothing`, async () => {
      const before = await jobCount();
      await expectError(await submit(apiKey, spec), status, code);
      expect(await jobCount()).toBe(before);
    });
  }

  it("refuses malformed JSON, an empty body and a non-JSON content type", async () => {
    const before = await jobCount();
    await expectError(await call("/v1/jobs", jsonInit("POST", '{"name":', apiKey)), 400, "invalid_json");
    await expectError(await call("/v1/jobs", jsonInit("POST", "", apiKey)), 400, "invalid_json");
    await expectError(
      await call("/v1/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}` },
        body: JSON.stringify(good),
      }),
      415,
      "unsupported_media_type",
    );
    expect(await jobCount()).toBe(before);
  });

  it("refuses a body over 1 MiB (a 10 MB command) with 413", async () => {
    const before = await jobCount();
    const huge = JSON.stringify({ ...good, command: ["x".repeat(10 * 1024 * 1024)] });
    await expectError(await call("/v1/jobs", jsonInit("POST", huge, apiKey)), 413, "body_too_large");
    expect(await jobCount()).toBe(before);
  });

  it("answers 404 for an unknown or malformed job id, and for bad list queries 400", async () => {
    await expectError(
      await call("/v1/jobs/job_00000000000000000000000000", authed(apiKey)),
      404,
      "job_not_found",
    );
    await expectError(await call("/v1/jobs/../../etc", authed(apiKey)), 404, "not_found");
    await expectError(await call("/v1/jobs/nonsense/cancel", authed(apiKey, "POST")), 404, "job_not_found");
    await expectError(await call("/v1/jobs?limit=100000", authed(apiKey)), 400, "invalid_request");
    await expectError(await call("/v1/jobs?status=exploded", authed(apiKey)), 400, "invalid_request");
    await expectError(await call("/v1/jobs?sneaky=1", authed(apiKey)), 400, "invalid_request");
  });

  it("accepts a valid spec, fills defaults and keeps money exact", async () => {
    const res = await submit(apiKey, {
      ...good,
      maxPricePerGpuHour: "2.10",
      resources: { gpus: 1, gpuModels: ["H100-SXM"] },
    });
    expect(res.status).toBe(201);
    const job = (await res.json()) as {
      id: string;
      status: string;
      spec: Record<string, unknown>;
      reason: string;
    };
    expect(job.id).toMatch(/^job_/);
    expect(job.status).toBe("queued");
    expect(job.spec.maxPricePerGpuHour).toBe("2.10");
    expect(job.spec.timeoutSeconds).toBe(3600);
    expect(job.reason).toMatch(/no nodes are registered/);
  });
});
