import { GPU_CATALOG, type GpuModel } from "../gpu-catalog.js";
import type { ChallengeDtype } from "./canonical-value.js";
import { datasheetTflops } from "./challenge-size.js";
import { WORKING_SET_FRACTION } from "./memory-size.js";
import {
  COMPUTE_IMPOSSIBLE_ABOVE,
  COMPUTE_VERIFIED_AT,
  VRAM_CLAIM_TOLERANCE,
  WALK_BANDWIDTH_IMPOSSIBLE_ABOVE,
  WALK_BANDWIDTH_VERIFIED_AT,
} from "./thresholds.js";

/**
 * Which catalogue part a GPU is, from what the region measured (issue 14 item 3): the compute rate
 * (the challenge's FLOPs over release → commit), the walk's read rate (its bytes over walk
 * release → memory commit) and the memory proven (the working set, when the walk passed). A part
 * matches when each figure lies in its band for that part; among matches the claimed part wins
 * (a claim the measurements bear out is taken), else the closest fit. A node is listed and priced
 * as the part it matched, never as the part it claimed.
 */

export interface MeasuredPart {
  tflops: number;
  bandwidthGBps: number;
  provenVramMib: number;
}

export interface PartFit {
  id: string;
  computeRatio: number;
  bandwidthRatio: number;
  /** Proven memory over what a working set for this part needs. */
  vramRatio: number;
}

/** What an honest part measures, region-timed: the middle of each band, for the closest fit. */
const TYPICAL_COMPUTE = 0.77;
const TYPICAL_BANDWIDTH = 0.8;

export function fitOf(model: GpuModel, measured: MeasuredPart, dtype: ChallengeDtype): PartFit {
  const needed = (WORKING_SET_FRACTION * model.vramGb * 1024) / VRAM_CLAIM_TOLERANCE;
  return {
    id: model.id,
    computeRatio: measured.tflops / datasheetTflops(model, dtype),
    bandwidthRatio: measured.bandwidthGBps / model.memoryBandwidthGBps,
    vramRatio: measured.provenVramMib / needed,
  };
}

export function fits(fit: PartFit): boolean {
  return (
    fit.computeRatio >= COMPUTE_VERIFIED_AT &&
    fit.computeRatio <= COMPUTE_IMPOSSIBLE_ABOVE &&
    fit.bandwidthRatio >= WALK_BANDWIDTH_VERIFIED_AT &&
    fit.bandwidthRatio <= WALK_BANDWIDTH_IMPOSSIBLE_ABOVE &&
    fit.vramRatio >= 1
  );
}

function distance(fit: PartFit): number {
  return (
    Math.abs(Math.log(fit.computeRatio / TYPICAL_COMPUTE)) +
    Math.abs(Math.log(fit.bandwidthRatio / TYPICAL_BANDWIDTH))
  );
}

export interface Classification {
  /** The part it is listed as; undefined when no catalogue part fits the measurements. */
  model: GpuModel | undefined;
  /** Every part of the claimed vendor, with its fit: the evidence for the listing. */
  fits: PartFit[];
}

export function classifyPart(
  claimed: GpuModel,
  measured: MeasuredPart,
  dtype: ChallengeDtype = "bf16",
  catalogue: readonly GpuModel[] = GPU_CATALOG,
): Classification {
  const sameVendor = catalogue.filter((model) => model.vendor === claimed.vendor);
  const all = sameVendor.map((model) => fitOf(model, measured, dtype));
  const matching = all.filter(fits);
  if (matching.some((fit) => fit.id === claimed.id)) return { model: claimed, fits: all };
  const price = (id: string): number => catalogue.find((m) => m.id === id)?.referencePriceMicrosPerHour ?? 0;
  const best = matching.sort((a, b) => distance(a) - distance(b) || price(a.id) - price(b.id))[0];
  return { model: best ? catalogue.find((model) => model.id === best.id) : undefined, fits: all };
}
