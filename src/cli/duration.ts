import { UsageError } from "./cli-error.js";

/** `90`, `90s`, `30m`, `12h` or `3d` as seconds; a usage error naming the flag otherwise. */
export function parseDurationSeconds(text: string, flag: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) {
    throw new UsageError(`${flag} takes a duration: seconds, or a number with s, m, h or d (12h)`);
  }
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] ?? ""] ?? 1;
  return Number(match[1]) * unit;
}
