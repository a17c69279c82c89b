import { toHex } from "../bytes.js";
import { AttestationFailure } from "./attestation-failure.js";

/**
 * An NVIDIA GPU attestation report, as the driver returns it (nvmlDeviceGetConfComputeGpu-
 * AttestationReport): the SPDM 1.1 GET_MEASUREMENTS request the driver sent, carrying the
 * requester's 32-byte nonce, followed by the GPU's signed MEASUREMENTS response (DMTF DSP0274
 * 1.1, §10.11; NVIDIA's layout as nvtrust's local verifier parses it). The signature is ECDSA
 * P-384 over SHA-384 of request ‖ response-without-signature, raw r ‖ s (96 bytes).
 */
export interface SpdmReport {
  /** The nonce of the request: what the region issued, if the report is fresh. */
  requestNonce: string;
  /** Everything but the signature: what the GPU signed. */
  signed: Uint8Array<ArrayBuffer>;
  signature: Uint8Array<ArrayBuffer>;
  measurementBlocks: number;
  /** The opaque data's fields, by NVIDIA's type number. */
  opaque: Map<number, Uint8Array<ArrayBuffer>>;
}

export const SPDM_VERSION_1_1 = 0x11;
const GET_MEASUREMENTS = 0xe0;
const MEASUREMENTS = 0x60;
export const REQUEST_LENGTH = 37;
export const NONCE_LENGTH = 32;
export const SIGNATURE_LENGTH = 96;

/** NVIDIA's opaque data field types (nvtrust: OpaqueData.OPAQUE_DATA_TYPES). */
export const OPAQUE = {
  driverVersion: 3,
  vbiosVersion: 6,
  chipSku: 15,
  project: 17,
  projectSku: 18,
} as const;

function malformed(message: string): AttestationFailure {
  return new AttestationFailure("malformed_report", message);
}

function littleEndian(bytes: Uint8Array, offset: number, length: number): number {
  let value = 0;
  for (let i = length - 1; i >= 0; i--) value = value * 256 + (bytes[offset + i] ?? 0);
  return value;
}

export function parseSpdmReport(report: Uint8Array<ArrayBuffer>): SpdmReport {
  // The smallest response: 8-byte header, a nonce, an opaque length, a signature.
  if (report.length < REQUEST_LENGTH + 8 + NONCE_LENGTH + 2 + SIGNATURE_LENGTH) {
    throw malformed(`the report is ${report.length} bytes, too short for a signed SPDM response`);
  }
  if (report[0] !== SPDM_VERSION_1_1 || report[1] !== GET_MEASUREMENTS) {
    throw malformed("the report does not start with an SPDM 1.1 GET_MEASUREMENTS request");
  }
  // Param1 bit 0: a signature was requested (a report without one attests nothing).
  if (((report[2] ?? 0) & 1) !== 1) throw malformed("the request did not ask for a signed response");
  const requestNonce = toHex(report.subarray(4, 4 + NONCE_LENGTH));
  const response = REQUEST_LENGTH;
  if (report[response] !== SPDM_VERSION_1_1 || report[response + 1] !== MEASUREMENTS) {
    throw malformed("the request is not followed by an SPDM 1.1 MEASUREMENTS response");
  }
  const measurementBlocks = report[response + 4] ?? 0;
  const recordLength = littleEndian(report, response + 5, 3);
  const nonceAt = response + 8 + recordLength;
  const opaqueLengthAt = nonceAt + NONCE_LENGTH;
  if (opaqueLengthAt + 2 > report.length) throw malformed("the measurement record runs past the report");
  const opaqueLength = littleEndian(report, opaqueLengthAt, 2);
  const opaqueAt = opaqueLengthAt + 2;
  const signatureAt = opaqueAt + opaqueLength;
  if (signatureAt + SIGNATURE_LENGTH !== report.length) {
    throw malformed(
      `the report is ${report.length} bytes; its fields and a ${SIGNATURE_LENGTH}-byte signature make ${signatureAt + SIGNATURE_LENGTH}`,
    );
  }
  return {
    requestNonce,
    signed: report.subarray(0, signatureAt),
    signature: report.subarray(signatureAt),
    measurementBlocks,
    opaque: parseOpaque(report.subarray(opaqueAt, signatureAt)),
  };
}

/** type (u16 LE), size (u16 LE), value; repeated to the end exactly. */
function parseOpaque(data: Uint8Array<ArrayBuffer>): Map<number, Uint8Array<ArrayBuffer>> {
  const fields = new Map<number, Uint8Array<ArrayBuffer>>();
  let offset = 0;
  while (offset < data.length) {
    if (offset + 4 > data.length) throw malformed("an opaque field header runs past the opaque data");
    const type = littleEndian(data, offset, 2);
    const size = littleEndian(data, offset + 2, 2);
    if (offset + 4 + size > data.length) throw malformed(`opaque field ${type} runs past the opaque data`);
    fields.set(type, data.subarray(offset + 4, offset + 4 + size));
    offset += 4 + size;
  }
  return fields;
}

/** An opaque field as text, up to its first NUL ("590.12", "G520"). */
export function opaqueText(report: SpdmReport, type: number): string | undefined {
  const value = report.opaque.get(type);
  if (!value) return undefined;
  const end = value.indexOf(0);
  return new TextDecoder().decode(end === -1 ? value : value.subarray(0, end));
}

/** The VBIOS version as nvidia-smi prints it ("96.00.A5.00.01"), from its 8 little-endian bytes. */
export function vbiosVersionOf(report: SpdmReport): string | undefined {
  const value = report.opaque.get(OPAQUE.vbiosVersion);
  if (!value || value.length < 5) return undefined;
  const hex = (byte: number | undefined) => (byte ?? 0).toString(16).padStart(2, "0").toUpperCase();
  return `${hex(value[3])}.${hex(value[2])}.${hex(value[1])}.${hex(value[0])}.${hex(value[4])}`;
}
