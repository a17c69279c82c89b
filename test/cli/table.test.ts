import { describe, expect, it } from "vitest";
import { formatKeyValues, formatTable, orDash } from "../../src/cli/table.js";

describe("formatTable", () => {
  it("pads every column to its widest cell and trims line ends", () => {
    const text = formatTable(
      ["ID", "STATUS", "NODE"],
      [
        ["job_1", "running", "node_abc"],
        ["job_22", "queued", "-"],
      ],
    );
    expect(text).toBe(
      ["ID      STATUS   NODE", "job_1   running  node_abc", "job_22  queued   -", ""].join("\n"),
    );
  });

  it("prints the header alone for no rows, and blanks for missing cells", () => {
    expect(formatTable(["A", "BB"], [])).toBe("A  BB\n");
    expect(formatTable(["A", "B", "C"], [["x"]])).toBe("A  B  C\nx\n");
  });
});

describe("formatKeyValues", () => {
  it("aligns values after their keys", () => {
    expect(
      formatKeyValues([
        ["id", "job_1"],
        ["exit code", "0"],
      ]),
    ).toBe("id:        job_1\nexit code: 0\n");
  });

  it("indents the continuation lines of a multi-line value", () => {
    expect(formatKeyValues([["msg", "one\ntwo"]])).toBe("msg: one\n     two\n");
  });
});

describe("orDash", () => {
  it("shows absent values as a dash and keeps zero", () => {
    expect([orDash(null), orDash(undefined), orDash(""), orDash(0), orDash("x")]).toEqual([
      "-",
      "-",
      "-",
      "0",
      "x",
    ]);
  });
});
