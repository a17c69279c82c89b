/**
 * How an entry of C is written before it is hashed: the exact integer rounded to the challenge's
 * dtype (round to nearest, ties to even — what a GPU's fp32-accumulating bf16/fp16 matmul does when
 * it writes its output), as that dtype's 16 bits, little-endian. Rounding is part of the canonical
 * form because the GPU's output is in the dtype; the verifier rounds its exact integer the same way.
 */

export type ChallengeDtype = "bf16" | "fp16";

interface Format {
  mantissaBits: number;
  bias: number;
  /** The all-ones exponent field: infinity. */
  maxExponentField: number;
}

const FORMATS: Record<ChallengeDtype, Format> = {
  bf16: { mantissaBits: 7, bias: 127, maxExponentField: 255 },
  fp16: { mantissaBits: 10, bias: 15, maxExponentField: 31 },
};

/** The 16-bit pattern of integer `value` (|value| < 2^31) rounded to `dtype`. */
export function integerToDtypeBits(value: number, dtype: ChallengeDtype): number {
  const format = FORMATS[dtype];
  const sign = value < 0 ? 0x8000 : 0;
  let magnitude = Math.abs(value);
  if (magnitude === 0) return sign;
  let exponent = 31 - Math.clz32(magnitude);
  let significand: number;
  if (exponent <= format.mantissaBits) {
    significand = magnitude << (format.mantissaBits - exponent);
  } else {
    const shift = exponent - format.mantissaBits;
    significand = magnitude >>> shift;
    const rest = magnitude - significand * 2 ** shift;
    const half = 2 ** (shift - 1);
    if (rest > half || (rest === half && (significand & 1) === 1)) significand += 1;
    if (significand === 2 ** (format.mantissaBits + 1)) {
      significand >>>= 1;
      exponent += 1;
    }
  }
  const field = exponent + format.bias;
  if (field >= format.maxExponentField) return sign | (format.maxExponentField << format.mantissaBits);
  magnitude = significand & ((1 << format.mantissaBits) - 1);
  return sign | (field << format.mantissaBits) | magnitude;
}

/** The value of a 16-bit pattern of `dtype` (normal numbers, zero and infinity; no NaN payloads). */
export function dtypeBitsToNumber(bits: number, dtype: ChallengeDtype): number {
  const format = FORMATS[dtype];
  const sign = bits & 0x8000 ? -1 : 1;
  const field = (bits & 0x7fff) >>> format.mantissaBits;
  const fraction = bits & ((1 << format.mantissaBits) - 1);
  if (field === format.maxExponentField) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  if (field === 0) return sign * fraction * 2 ** (1 - format.bias - format.mantissaBits);
  return sign * (1 + fraction / 2 ** format.mantissaBits) * 2 ** (field - format.bias);
}

/**
 * One unit in the last place of `dtype` at integer `value`: the verifier accepts a committed entry
 * within one of these of the exact value, so an honest GPU whose output rounding differs from
 * round-to-nearest-even in a tie is not failed, while a guessed entry still is.
 */
export function ulpAt(value: number, dtype: ChallengeDtype): number {
  const magnitude = Math.abs(value);
  if (magnitude === 0) return 0;
  const exponent = 31 - Math.clz32(magnitude);
  return 2 ** Math.max(exponent - FORMATS[dtype].mantissaBits, 0);
}

/** A row of exact integers as the canonical bytes that are hashed into the commitment. */
export function encodeRow(values: ArrayLike<number>, dtype: ChallengeDtype): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(values.length * 2);
  for (let j = 0; j < values.length; j++) {
    const bits = integerToDtypeBits(values[j] ?? 0, dtype);
    bytes[2 * j] = bits & 0xff;
    bytes[2 * j + 1] = bits >>> 8;
  }
  return bytes;
}

/** Reads entry `column` of a canonical row back as a number. */
export function entryOfRow(row: Uint8Array, column: number, dtype: ChallengeDtype): number {
  const bits = (row[2 * column] ?? 0) | ((row[2 * column + 1] ?? 0) << 8);
  return dtypeBitsToNumber(bits, dtype);
}
