/** Plain-text layouts for terminal output: aligned tables and `key: value` blocks. */

const GAP = "  ";

/** Columns padded to their widest cell, a header row first; trailing spaces trimmed. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]): string =>
    widths
      .map((width, column) => (cells[column] ?? "").padEnd(width))
      .join(GAP)
      .trimEnd();
  return [line(headers), ...rows.map(line)].map((text) => `${text}\n`).join("");
}

/** `key: value` lines with the values aligned; a multi-line value continues under its first line. */
export function formatKeyValues(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length + 1));
  const indent = " ".repeat(width + 1);
  return pairs
    .map(([key, value]) => `${`${key}:`.padEnd(width)} ${value.split("\n").join(`\n${indent}`)}`.trimEnd())
    .map((text) => `${text}\n`)
    .join("");
}

/** How an absent value shows in a table or block. */
export function orDash(value: string | number | null | undefined): string {
  return value === null || value === undefined || value === "" ? "-" : String(value);
}
