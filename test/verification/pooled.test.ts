import { describe, expect, it } from "vitest";
import { A100_NVLINK, judgePool, PCIE4_X16 } from "../../src/shared/verification/pooled-model.js";

/**
 * Pooled GPUs (issue 14): eight A100-40GBs answering for four A100-80GBs, two per claimed GPU,
 * the 72 GB working set split across each pair. Modelled timings (pooled-model.ts), the real
 * windows. Every claimed GPU of a node is challenged in one round (verification-desk.ts), so each
 * pair must walk its own working set at once; what decides is the link between the pair.
 */
describe("a pool of smaller GPUs answering for a bigger part", () => {
  it("misses the walk window by > 10× when the pair is joined by PCIe", () => {
    const verdict = judgePool("A100-40GB", 2, PCIE4_X16, "A100-80GB");
    expect(verdict.memory.late).toBeGreaterThan(10);
    expect(verdict.passes).toBe(false);
  });

  it("misses it when two H100s answer for an H200, even over NVLink", () => {
    const nvlink4 = { name: "NVLink 4 (450 GB/s a direction, 80%)", gbps: 0.8 * 450 };
    expect(judgePool("H100-SXM", 2, nvlink4, "H200").memory.late).toBeGreaterThan(2);
    expect(judgePool("A100-40GB", 2, A100_NVLINK, "H100-SXM").passes).toBe(false);
  });

  it("misses the walk window by > 1.5× when two A100-40GBs on NVLink answer for an A100-80GB", () => {
    // Half of each pair's reads cross NVLink at ~240 GB/s a direction: the walk takes ~1.6× the
    // window. When fill and walk shared one window the pair's twice-as-fast fill hid that and it
    // passed with ~7% to spare; the walk now has its own seed and window (memory-size.ts).
    const verdict = judgePool("A100-40GB", 2, A100_NVLINK, "A100-80GB");
    expect(verdict.memory.late).toBeGreaterThan(1.5);
    expect(verdict.compute.late).toBeLessThan(0.5);
    expect(verdict.passes).toBe(false);
  });
});
