/**
 * The GPU parts Meridian knows, keyed by a stable model id, with the product names that
 * `nvidia-smi` / `rocm-smi` report for them. VRAM figures are the vendors' datasheet capacities.
 * Sources: NVIDIA and AMD product datasheets (nvidia.com/en-us/data-center, amd.com/en/products/accelerators).
 */
export type GpuTier = "consumer" | "professional" | "datacenter";

export interface GpuModel {
  id: string;
  vendor: "nvidia" | "amd";
  vramGb: number;
  tier: GpuTier;
  /** Product names as the vendor's management tool prints them, matched case-insensitively. */
  reportedNames: readonly string[];
}

export const GPU_CATALOG: readonly GpuModel[] = [
  {
    id: "RTX-3060",
    vendor: "nvidia",
    vramGb: 12,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 3060"],
  },
  {
    id: "RTX-3080",
    vendor: "nvidia",
    vramGb: 10,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 3080"],
  },
  {
    id: "RTX-3090",
    vendor: "nvidia",
    vramGb: 24,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 3090"],
  },
  {
    id: "RTX-4070",
    vendor: "nvidia",
    vramGb: 12,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 4070"],
  },
  {
    id: "RTX-4080",
    vendor: "nvidia",
    vramGb: 16,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 4080"],
  },
  {
    id: "RTX-4090",
    vendor: "nvidia",
    vramGb: 24,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 4090"],
  },
  {
    id: "RTX-5090",
    vendor: "nvidia",
    vramGb: 32,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 5090"],
  },
  { id: "A10", vendor: "nvidia", vramGb: 24, tier: "professional", reportedNames: ["NVIDIA A10"] },
  { id: "A40", vendor: "nvidia", vramGb: 48, tier: "professional", reportedNames: ["NVIDIA A40"] },
  { id: "L4", vendor: "nvidia", vramGb: 24, tier: "professional", reportedNames: ["NVIDIA L4"] },
  { id: "L40S", vendor: "nvidia", vramGb: 48, tier: "professional", reportedNames: ["NVIDIA L40S"] },
  {
    id: "A100-40GB",
    vendor: "nvidia",
    vramGb: 40,
    tier: "datacenter",
    reportedNames: ["NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB"],
  },
  {
    id: "A100-80GB",
    vendor: "nvidia",
    vramGb: 80,
    tier: "datacenter",
    reportedNames: ["NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe"],
  },
  { id: "H100-PCIE", vendor: "nvidia", vramGb: 80, tier: "datacenter", reportedNames: ["NVIDIA H100 PCIe"] },
  {
    id: "H100-SXM",
    vendor: "nvidia",
    vramGb: 80,
    tier: "datacenter",
    reportedNames: ["NVIDIA H100 80GB HBM3"],
  },
  { id: "H200", vendor: "nvidia", vramGb: 141, tier: "datacenter", reportedNames: ["NVIDIA H200"] },
  { id: "B200", vendor: "nvidia", vramGb: 180, tier: "datacenter", reportedNames: ["NVIDIA B200"] },
  {
    id: "MI250",
    vendor: "amd",
    vramGb: 128,
    tier: "datacenter",
    reportedNames: ["AMD Instinct MI250X/MI250", "AMD Instinct MI250"],
  },
  { id: "MI300X", vendor: "amd", vramGb: 192, tier: "datacenter", reportedNames: ["AMD Instinct MI300X"] },
];

const BY_ID = new Map(GPU_CATALOG.map((model) => [model.id, model]));

export function gpuModelById(id: string): GpuModel | undefined {
  return BY_ID.get(id);
}

/** Maps a reported product name to its catalogue entry; unknown parts return undefined. */
export function gpuModelForReportedName(name: string): GpuModel | undefined {
  const wanted = name.trim().toLowerCase();
  return GPU_CATALOG.find((model) =>
    model.reportedNames.some((reported) => reported.toLowerCase() === wanted),
  );
}
