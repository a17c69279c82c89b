/**
 * Why a GPU's attestation did not hold. These are findings about the evidence (a verdict), not
 * refusals of a message: evidence that arrives well-formed on the wire but fails any check is
 * recorded as failed, and the GPU is judged suspect (gpu-attestation.ts).
 */
export type AttestationFailureCode =
  /** The report is not an SPDM 1.1 GET_MEASUREMENTS request and signed response. */
  | "malformed_report"
  /** A certificate of the chain cannot be read. */
  | "malformed_certificate"
  /** The request in the report carries another nonce than the one this region issued. */
  | "nonce_mismatch"
  /** The report's signature does not verify with the leaf certificate's key. */
  | "bad_report_signature"
  /** A certificate is not signed by the next one, or not issued by it, or not a CA. */
  | "bad_chain"
  /** The chain does not end in a pinned NVIDIA device identity root. */
  | "untrusted_root"
  /** A certificate of the chain is not valid now. */
  | "certificate_expired"
  /** The attested chip is not the one the claimed catalogue part is built on. */
  | "part_mismatch"
  /** The same physical GPU (its NVIDIA device identity) is attested for another GPU record. */
  | "device_twin";

export class AttestationFailure extends Error {
  constructor(
    readonly code: AttestationFailureCode,
    message: string,
  ) {
    super(message);
    this.name = "AttestationFailure";
  }
}
