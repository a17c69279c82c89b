/**
 * The catalogue parts whose GPUs can attest (SPDM measurements signed by a device key that NVIDIA
 * provisioned, in confidential-computing mode), by the chip their device certificates name.
 *
 * Only GH100 is listed: every real report this verifier is tested on (nvtrust's samples,
 * test/fixtures/nvidia-attestation/README.md) is a GH100's. Blackwell (B200) attests too, but no
 * real B200 report was at hand to test against, so B200 is not listed yet and its nodes stay
 * timing-verified only. Ampere and Ada parts (every RTX, A10, A40, L4, L40S, A100) have no device
 * attestation at all: for them timing is the only evidence (docs/VERIFICATION.md).
 */
const CHIP_OF: Readonly<Record<string, string>> = {
  "H100-PCIE": "GH100",
  "H100-SXM": "GH100",
  H200: "GH100",
};

/** The chip a catalogue part's attestation must name; undefined for a part that cannot attest. */
export function attestedChipOf(modelId: string): string | undefined {
  return Object.hasOwn(CHIP_OF, modelId) ? CHIP_OF[modelId] : undefined;
}

/** The catalogue parts that can attest, in catalogue order. */
export const ATTESTABLE_PART_IDS: readonly string[] = Object.keys(CHIP_OF);
