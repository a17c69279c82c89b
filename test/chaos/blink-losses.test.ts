import { describe, expect, it } from "vitest";
import { type LostAttempt, lostToBlinks } from "./blink-losses.js";

// The chaos suite's "running containers are not lost because the control plane blinked" check,
// on timelines made by hand: only a loss its own agent's kill does not explain counts against it.
describe("lostToBlinks", () => {
  const plane = [{ from: 1_000, to: 2_000 }];
  const attempt = (id: string, nodeId: string, assignedAt: number, endedAt: number): LostAttempt => ({
    id,
    nodeId,
    assignedAt,
    endedAt,
  });

  it("names an attempt live across a plane outage whose node was never down", () => {
    const lost = [attempt("a", "n1", 500, 2_500)];
    expect(lostToBlinks(lost, plane, new Map()).map((a) => a.id)).toEqual(["a"]);
  });

  it("excuses a loss on a node killed in the attempt's life, before or after the blink", () => {
    const lost = [attempt("before", "n1", 500, 2_500), attempt("after", "n2", 900, 9_000)];
    const agents = new Map([
      ["n1", [{ from: 600, to: 800 }]],
      ["n2", [{ from: 5_000, to: 6_000 }]],
    ]);
    expect(lostToBlinks(lost, plane, agents)).toEqual([]);
  });

  it("leaves out losses outside every plane outage, and a kill outside the attempt's life excuses nothing", () => {
    const lost = [attempt("outside", "n1", 3_000, 4_000), attempt("across", "n1", 1_500, 2_200)];
    const agents = new Map([["n1", [{ from: 100, to: 400 }]]]);
    expect(lostToBlinks(lost, plane, agents).map((a) => a.id)).toEqual(["across"]);
  });
});
