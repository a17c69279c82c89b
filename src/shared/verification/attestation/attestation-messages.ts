import { z } from "zod";

/**
 * A GPU's attestation evidence, as NVIDIA's tools hand it out (nvtrust's evidence JSON: `evidence`
 * and `certificate`, both base64): the attestation report for the challenge's nonce, and the GPU's
 * certificate chain as PEM text. Sized well past a real GH100's (4.3 KB report, 6.4 KB chain).
 */
export const GpuAttestationEvidence = z
  .object({
    evidence: z
      .string()
      .min(1)
      .max(32 * 1024)
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, "base64"),
    certificate: z
      .string()
      .min(1)
      .max(32 * 1024)
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, "base64"),
  })
  .strict();
export type GpuAttestationEvidence = z.infer<typeof GpuAttestationEvidence>;

/** A 32-byte nonce, lower-case hex: what the region asks the GPU to sign. */
export const AttestationNonce = z.string().regex(/^[0-9a-f]{64}$/, "32 bytes in lower-case hex");

/**
 * What the region concluded from a GPU's evidence. `attested`: a GPU holding an NVIDIA-provisioned
 * device key of the claimed part's chip signed this region's nonce. `failed`: evidence came and did
 * not hold (the GPU is judged suspect). No verdict at all: no evidence (the part cannot attest, or
 * the host is not in confidential-computing mode) — timing-verified, not attested.
 */
export const AttestationVerdict = z.discriminatedUnion("status", [
  z.object({
    status: z.literal("attested"),
    /** The chip the device certificate names ("GH100"). */
    chip: z.string(),
    /** The device identity certificate's serial number: one physical GPU, network-wide. */
    deviceId: z.string(),
    driverVersion: z.string().nullable(),
    vbiosVersion: z.string().nullable(),
    /** The board project and SKU from the signed report ("G520", "0200"). */
    project: z.string().nullable(),
    projectSku: z.string().nullable(),
    at: z.number().int(),
  }),
  z.object({
    status: z.literal("failed"),
    reason: z.object({ code: z.string(), message: z.string() }),
    at: z.number().int(),
  }),
]);
export type AttestationVerdict = z.infer<typeof AttestationVerdict>;
