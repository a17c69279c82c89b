import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { z } from "zod";
import { GpuAttestationEvidence } from "../../shared/verification/attestation/attestation-messages.js";

export const ATTEST_SCRIPT_PATH = fileURLToPath(new URL("./gpu-attest.py", import.meta.url));

/** A GPU's evidence for a nonce, or why this host has none (it then answers on timing alone). */
export type AttestationCollection = { evidence: GpuAttestationEvidence } | { unavailable: string };

/** Where the agent gets a GPU's attestation evidence: NVML on a real host, a fake in unit tests. */
export interface AttestationSource {
  collect(gpuUuid: string, nonce: string): Promise<AttestationCollection>;
}

const ScriptLine = z.discriminatedUnion("type", [
  z.object({ type: z.literal("evidence") }).extend(GpuAttestationEvidence.shape),
  z.object({ type: z.literal("unavailable"), reason: z.string() }),
]);

const run = promisify(execFile);

/**
 * Evidence through NVML (gpu-attest.py, nvidia-ml-py's pynvml), as NVIDIA's local verifier fetches
 * it: H100/H200 hosts in confidential-computing mode have it. `python` defaults to python3. Never throws: a host without python3, pynvml, a driver, confidential computing or an
 * attesting GPU gets `unavailable` with the reason, and its challenges are judged on timing alone.
 */
export function nvmlAttestationSource(
  options: { python?: string | undefined; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): AttestationSource {
  return {
    async collect(gpuUuid, nonce) {
      try {
        const { stdout } = await run(options.python ?? "python3", [ATTEST_SCRIPT_PATH, gpuUuid, nonce], {
          timeout: options.timeoutMs ?? 30_000,
          ...(options.env ? { env: options.env } : {}),
          maxBuffer: 1024 * 1024,
        });
        const line = stdout.trim().split("\n").pop() ?? "";
        const parsed = ScriptLine.safeParse(JSON.parse(line));
        if (!parsed.success)
          return { unavailable: `gpu-attest.py printed something unexpected: ${line.slice(0, 200)}` };
        if (parsed.data.type === "unavailable") return { unavailable: parsed.data.reason };
        return { evidence: { evidence: parsed.data.evidence, certificate: parsed.data.certificate } };
      } catch (error) {
        return {
          unavailable: `gpu-attest.py did not run: ${error instanceof Error ? error.message : String(error)}`,
        };
      }
    },
  };
}
