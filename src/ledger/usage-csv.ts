import { formatUsd } from "../shared/money.js";
import type { UsageTotals } from "./usage.js";

function field(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180 CSV of a usage report, one row per group, amounts in USD and µUSD. */
export function usageCsv(groupBy: string, rows: UsageTotals[]): string {
  const lines = [[groupBy, "attempts", "billable_seconds", "charged_usd", "charged_micros"].join(",")];
  for (const row of rows) {
    lines.push(
      [row.key, row.attempts, row.billableSeconds, formatUsd(row.chargedMicros), row.chargedMicros]
        .map(field)
        .join(","),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}
