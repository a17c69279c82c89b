import { describe, expect, it } from "vitest";
import { JobSpec, type JobSpecInput } from "../../src/shared/job-spec.js";
import { ATTESTABLE_PART_IDS } from "../../src/shared/verification/attestation/attestable-parts.js";

/**
 * placement.requireAttested is the product's answer to the parts a server CPU can pass for on
 * timing (docs/VERIFICATION.md): identity proven by the GPU itself. Only GH100 parts attest, so a
 * job that requires attestation and allows only other parts could never be placed; it is refused
 * at submit (the same JobSpec the submit, quote and estimate routes validate), not queued forever.
 */
function spec(resources: JobSpecInput["resources"]): JobSpecInput {
  return {
    name: "attested",
    image: "meridian/busybox:test",
    command: ["true"],
    resources,
    maxPricePerGpuHour: "9.00",
    placement: { requireAttested: true },
  };
}

function issues(input: JobSpecInput): { path: string; message: string }[] {
  const parsed = JobSpec.safeParse(input);
  return parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}

describe("a job that requires attestation", () => {
  it("is refused when none of the parts it allows can attest, naming the ones that can", () => {
    for (const models of [["RTX-4090"], ["RTX-3060", "A100-40GB", "L40S"], ["B200"], ["MI300X"]]) {
      const found = issues(spec({ gpus: 1, gpuModels: models }));
      expect(found).toHaveLength(1);
      expect(found[0]?.path).toBe("placement.requireAttested");
      expect(found[0]?.message).toContain(`only ${ATTESTABLE_PART_IDS.join(", ")} do`);
    }
    expect(ATTESTABLE_PART_IDS).toEqual(["H100-PCIE", "H100-SXM", "H200"]);
  });

  it("is refused when its VRAM floor leaves only parts that cannot attest", () => {
    // Above the H200's 141 GB only B200 and MI300X remain, and neither attests here.
    expect(issues(spec({ gpus: 1, minVramGb: 150 }))[0]?.path).toBe("placement.requireAttested");
    expect(issues(spec({ gpus: 1, minVramGb: 141 }))).toEqual([]);
  });

  it("is accepted when some allowed part can attest, or when it names no part", () => {
    expect(issues(spec({ gpus: 1 }))).toEqual([]);
    expect(issues(spec({ gpus: 8, gpuModels: ["RTX-4090", "H100-SXM"] }))).toEqual([]);
    expect(issues(spec({ gpus: 1, gpuModels: ["H200"] }))).toEqual([]);
  });
});
