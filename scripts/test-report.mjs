// Reads the JSON report vitest writes (--reporter=json) and says which files failed and why, in a few
// lines, so that the end of a long CI log names the failures instead of the last passing suite.
import { readFileSync } from "node:fs";
import { relative } from "node:path";

// The escape character, written out: a regular expression literal may not hold it (Biome).
const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** @returns {{ files: string[], lines: string[] } | undefined} undefined when no report was written. */
export function failuresIn(reportPath) {
  let report;
  try {
    report = JSON.parse(readFileSync(reportPath, "utf8"));
  } catch {
    return undefined;
  }
  const files = [];
  const lines = [];
  for (const file of report.testResults ?? []) {
    if (file.status !== "failed") continue;
    const name = relative(process.cwd(), file.name);
    files.push(name);
    lines.push(`  FAIL ${name}`);
    const failed = (file.assertionResults ?? []).filter((test) => test.status === "failed");
    if (failed.length === 0 && file.message) lines.push(`       ${firstLine(file.message)}`);
    for (const test of failed.slice(0, 4)) {
      lines.push(`     × ${test.fullName ?? test.title}`);
      const message = (test.failureMessages ?? [])[0];
      if (message) lines.push(`       ${firstLine(message)}`);
    }
    if (failed.length > 4) lines.push(`     … and ${failed.length - 4} more in this file`);
  }
  return { files, lines };
}

function firstLine(text) {
  const line = String(text).replace(ansi, "").trim().split("\n")[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
