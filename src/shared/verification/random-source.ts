/** Where the verifier's randomness comes from; tests inject a seeded one to replay a case. */
export type RandomBytes = (length: number) => Uint8Array;

export const cryptoRandomBytes: RandomBytes = (length) => crypto.getRandomValues(new Uint8Array(length));

/** A uniform integer in [0, bound), by rejection so no value is favoured. */
export function randomBelow(random: RandomBytes, bound: number): number {
  if (!Number.isInteger(bound) || bound < 1 || bound > 2 ** 32) throw new RangeError("bad bound");
  const limit = 2 ** 32 - (2 ** 32 % bound);
  for (;;) {
    const bytes = random(4);
    const value =
      ((bytes[0] ?? 0) * 2 ** 24 + ((bytes[1] ?? 0) << 16) + ((bytes[2] ?? 0) << 8) + (bytes[3] ?? 0)) >>> 0;
    if (value < limit) return value % bound;
  }
}

/** A uniform number in [0, 1) with 32 bits of randomness. */
export function randomUnit(random: RandomBytes): number {
  return randomBelow(random, 2 ** 32) / 2 ** 32;
}
