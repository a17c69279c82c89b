/**
 * Dotted versions (compute capability "8.0", CUDA "12.2", driver "535.104.05") as one number that
 * orders like the version, so constraint checks in the placement loop are a single comparison.
 */

const PARTS = 4;
const RADIX = 1000;

/** The comparable key of a dotted version, or undefined when the text is not one. */
export function versionKey(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const parts = text.trim().split(".");
  if (parts.length === 0 || parts.length > PARTS) return undefined;
  let key = 0;
  for (let index = 0; index < PARTS; index++) {
    const part = parts[index] ?? "0";
    if (!/^[0-9]{1,3}$/.test(part)) return undefined;
    key = key * RADIX + Number(part);
  }
  return key;
}

/** The text of a version key: major.minor, plus the further parts that are not zero. */
export function versionText(key: number): string {
  const parts: number[] = [];
  let rest = key;
  for (let index = 0; index < PARTS; index++) {
    parts.unshift(rest % RADIX);
    rest = Math.floor(rest / RADIX);
  }
  while (parts.length > 2 && parts[parts.length - 1] === 0) parts.pop();
  return parts.join(".");
}
