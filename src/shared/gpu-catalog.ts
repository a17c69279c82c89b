/**
 * The GPU parts Meridian knows, keyed by a stable model id, with the product names that
 * `nvidia-smi` / `rocm-smi` report for them, and the datasheet figures that verification judges a
 * node against (see src/shared/verification/judgement.ts).
 *
 * Sources (datasheet figures are dense, i.e. without 2:4 sparsity; BF16/FP16 are tensor/matrix
 * rates with FP32 accumulation, which is what PyTorch's bf16/fp16 matmul uses; FP32 is the
 * non-tensor (vector) rate):
 * - [ga102] NVIDIA Ampere GA102 GPU Architecture whitepaper, appendix tables (RTX 3080/3090, A10,
 *   A40). GeForce parts run FP16/BF16 with FP32 accumulation at half the FP16-accumulate rate; the
 *   half rate is the one listed here. RTX 3060 (GA106, 28 SMs, 1.777 GHz boost) is derived with the
 *   same per-SM rate (512 FLOP/clk/SM) since the whitepaper has no column for it.
 * - [ada] NVIDIA Ada GPU Architecture whitepaper, appendix tables (RTX 4090/4080, L40S); RTX 4070
 *   (46 SMs, 2.475 GHz boost) derived at the same 512 FLOP/clk/SM. L4: NVIDIA L4 datasheet.
 * - [bw-rtx] NVIDIA RTX Blackwell GPU Architecture whitepaper (RTX 5090).
 * - [a100] NVIDIA A100 datasheet: 312 BF16, 19.5 FP32; 1,555 GB/s (40 GB), 1,935 GB/s (80 GB PCIe;
 *   the SXM part lists 2,039 — the lower figure is used so one entry is fair to both forms).
 * - [h100] NVIDIA H100 datasheet: SXM 989 BF16 / 67 FP32 / 3.35 TB/s; PCIe 756 / 51 / 2.0 TB/s.
 *   Measured on a real H100 SXM (test/fixtures/nvidia-smi/README.md): 781–801 TFLOP/s bf16 (≈80%),
 *   3.0 TB/s device copy (≈90%), which is why the verification thresholds are 70% and 80%.
 * - [h200] NVIDIA H200 datasheet (SXM): 989 BF16, 67 FP32, 4.8 TB/s, 141 GB.
 * - [b200] NVIDIA HGX B200 datasheet, per GPU: 2.25 PFLOPS dense BF16 (4.5 sparse), 75 FP32,
 *   8 TB/s, 180 GB.
 * - [cdna] AMD Instinct MI250 and MI300X datasheets: MI250 362.1 BF16/FP16, 45.3 FP32 vector,
 *   3.2 TB/s; MI300X 1,307.4 BF16/FP16, 163.4 FP32 vector, 5.3 TB/s. CDNA has no sparsity rate for
 *   these, so the listed figure is the dense one.
 * - Reference price per GPU-hour (integer µUSD, on-demand, what a hyperscaler charges): H100 SXM,
 *   H200 and A100 80 GB are the middles of the hyperscaler ranges in the Mercatus GPU Index table
 *   (mercatus-ai.com/blog/cloud-gpu-pricing, May 2026: A100 80 GB $1.50–3.00, H100 SXM $3.50–5.00,
 *   H200 $4.50–7.00). The others have no such public range and are estimates, marked "est." on
 *   their rows, placed by each part's performance against those three. They anchor price
 *   suggestions; they are not a market feed and should be refreshed by a change to this file.
 */
export type GpuTier = "consumer" | "professional" | "datacenter";

export type GpuArchitecture = "ampere" | "ada" | "hopper" | "blackwell" | "cdna2" | "cdna3";

export interface GpuModel {
  id: string;
  vendor: "nvidia" | "amd";
  vramGb: number;
  tier: GpuTier;
  /** Product names as the vendor's management tool prints them, matched case-insensitively. */
  reportedNames: readonly string[];
  architecture: GpuArchitecture;
  /** Datasheet memory bandwidth, GB/s (10^9 bytes per second). */
  memoryBandwidthGBps: number;
  /** Datasheet dense BF16 tensor rate with FP32 accumulation, TFLOP/s. */
  bf16Tflops: number;
  /** Datasheet dense FP16 tensor rate with FP32 accumulation, TFLOP/s. */
  fp16Tflops: number;
  /** Datasheet FP32 (non-tensor) rate, TFLOP/s. */
  fp32Tflops: number;
  /** Reference on-demand cloud price per GPU-hour in integer µUSD (see the sources above). */
  referencePriceMicrosPerHour: number;
}

export const GPU_CATALOG: readonly GpuModel[] = [
  {
    // [ga102]-derived; est. price
    id: "RTX-3060",
    vendor: "nvidia",
    vramGb: 12,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 3060"],
    architecture: "ampere",
    memoryBandwidthGBps: 360,
    bf16Tflops: 25.5,
    fp16Tflops: 25.5,
    fp32Tflops: 12.7,
    referencePriceMicrosPerHour: 150_000,
  },
  {
    // [ga102]; est. price
    id: "RTX-3080",
    vendor: "nvidia",
    vramGb: 10,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 3080"],
    architecture: "ampere",
    memoryBandwidthGBps: 760,
    bf16Tflops: 59.5,
    fp16Tflops: 59.5,
    fp32Tflops: 29.8,
    referencePriceMicrosPerHour: 250_000,
  },
  {
    // [ga102]; est. price
    id: "RTX-3090",
    vendor: "nvidia",
    vramGb: 24,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 3090"],
    architecture: "ampere",
    memoryBandwidthGBps: 936,
    bf16Tflops: 71,
    fp16Tflops: 71,
    fp32Tflops: 35.6,
    referencePriceMicrosPerHour: 450_000,
  },
  {
    // [ada]-derived; est. price
    id: "RTX-4070",
    vendor: "nvidia",
    vramGb: 12,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 4070"],
    architecture: "ada",
    memoryBandwidthGBps: 504,
    bf16Tflops: 58.3,
    fp16Tflops: 58.3,
    fp32Tflops: 29.1,
    referencePriceMicrosPerHour: 300_000,
  },
  {
    // [ada]; est. price
    id: "RTX-4080",
    vendor: "nvidia",
    vramGb: 16,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 4080"],
    architecture: "ada",
    memoryBandwidthGBps: 716.8,
    bf16Tflops: 97.5,
    fp16Tflops: 97.5,
    fp32Tflops: 48.7,
    referencePriceMicrosPerHour: 500_000,
  },
  {
    // [ada]; est. price
    id: "RTX-4090",
    vendor: "nvidia",
    vramGb: 24,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 4090"],
    architecture: "ada",
    memoryBandwidthGBps: 1008,
    bf16Tflops: 165.2,
    fp16Tflops: 165.2,
    fp32Tflops: 82.6,
    referencePriceMicrosPerHour: 800_000,
  },
  {
    // [bw-rtx]; est. price
    id: "RTX-5090",
    vendor: "nvidia",
    vramGb: 32,
    tier: "consumer",
    reportedNames: ["NVIDIA GeForce RTX 5090"],
    architecture: "blackwell",
    memoryBandwidthGBps: 1792,
    bf16Tflops: 209.5,
    fp16Tflops: 209.5,
    fp32Tflops: 104.8,
    referencePriceMicrosPerHour: 1_100_000,
  },
  {
    // [ga102]; est. price
    id: "A10",
    vendor: "nvidia",
    vramGb: 24,
    tier: "professional",
    reportedNames: ["NVIDIA A10"],
    architecture: "ampere",
    memoryBandwidthGBps: 600,
    bf16Tflops: 125,
    fp16Tflops: 125,
    fp32Tflops: 31.2,
    referencePriceMicrosPerHour: 1_000_000,
  },
  {
    // [ga102]; est. price
    id: "A40",
    vendor: "nvidia",
    vramGb: 48,
    tier: "professional",
    reportedNames: ["NVIDIA A40"],
    architecture: "ampere",
    memoryBandwidthGBps: 696,
    bf16Tflops: 149.7,
    fp16Tflops: 149.7,
    fp32Tflops: 37.4,
    referencePriceMicrosPerHour: 1_300_000,
  },
  {
    // NVIDIA L4 datasheet; est. price
    id: "L4",
    vendor: "nvidia",
    vramGb: 24,
    tier: "professional",
    reportedNames: ["NVIDIA L4"],
    architecture: "ada",
    memoryBandwidthGBps: 300,
    bf16Tflops: 121,
    fp16Tflops: 121,
    fp32Tflops: 30.3,
    referencePriceMicrosPerHour: 800_000,
  },
  {
    // [ada] (L40S datasheet agrees); est. price
    id: "L40S",
    vendor: "nvidia",
    vramGb: 48,
    tier: "professional",
    reportedNames: ["NVIDIA L40S"],
    architecture: "ada",
    memoryBandwidthGBps: 864,
    bf16Tflops: 362.05,
    fp16Tflops: 362.05,
    fp32Tflops: 91.6,
    referencePriceMicrosPerHour: 1_900_000,
  },
  {
    // [a100]; est. price (80% of the 80 GB part)
    id: "A100-40GB",
    vendor: "nvidia",
    vramGb: 40,
    tier: "datacenter",
    reportedNames: ["NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB"],
    architecture: "ampere",
    memoryBandwidthGBps: 1555,
    bf16Tflops: 312,
    fp16Tflops: 312,
    fp32Tflops: 19.5,
    referencePriceMicrosPerHour: 1_800_000,
  },
  {
    // [a100]; Mercatus hyperscaler range middle
    id: "A100-80GB",
    vendor: "nvidia",
    vramGb: 80,
    tier: "datacenter",
    reportedNames: ["NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe"],
    architecture: "ampere",
    memoryBandwidthGBps: 1935,
    bf16Tflops: 312,
    fp16Tflops: 312,
    fp32Tflops: 19.5,
    referencePriceMicrosPerHour: 2_250_000,
  },
  {
    // [h100]; est. price (bottom of the SXM hyperscaler range)
    id: "H100-PCIE",
    vendor: "nvidia",
    vramGb: 80,
    tier: "datacenter",
    reportedNames: ["NVIDIA H100 PCIe"],
    architecture: "hopper",
    memoryBandwidthGBps: 2000,
    bf16Tflops: 756,
    fp16Tflops: 756,
    fp32Tflops: 51,
    referencePriceMicrosPerHour: 3_500_000,
  },
  {
    // [h100]; Mercatus hyperscaler range middle
    id: "H100-SXM",
    vendor: "nvidia",
    vramGb: 80,
    tier: "datacenter",
    reportedNames: ["NVIDIA H100 80GB HBM3"],
    architecture: "hopper",
    memoryBandwidthGBps: 3350,
    bf16Tflops: 989,
    fp16Tflops: 989,
    fp32Tflops: 67,
    referencePriceMicrosPerHour: 4_250_000,
  },
  {
    // [h200]; Mercatus hyperscaler range middle
    id: "H200",
    vendor: "nvidia",
    vramGb: 141,
    tier: "datacenter",
    reportedNames: ["NVIDIA H200"],
    architecture: "hopper",
    memoryBandwidthGBps: 4800,
    bf16Tflops: 989,
    fp16Tflops: 989,
    fp32Tflops: 67,
    referencePriceMicrosPerHour: 5_750_000,
  },
  {
    // [b200]; est. price
    id: "B200",
    vendor: "nvidia",
    vramGb: 180,
    tier: "datacenter",
    reportedNames: ["NVIDIA B200"],
    architecture: "blackwell",
    memoryBandwidthGBps: 8000,
    bf16Tflops: 2250,
    fp16Tflops: 2250,
    fp32Tflops: 75,
    referencePriceMicrosPerHour: 8_000_000,
  },
  {
    // [cdna] MI250 figures (the MI250X reports under the same name and is a little faster); est. price
    id: "MI250",
    vendor: "amd",
    vramGb: 128,
    tier: "datacenter",
    reportedNames: ["AMD Instinct MI250X/MI250", "AMD Instinct MI250"],
    architecture: "cdna2",
    memoryBandwidthGBps: 3200,
    bf16Tflops: 362.1,
    fp16Tflops: 362.1,
    fp32Tflops: 45.3,
    referencePriceMicrosPerHour: 2_000_000,
  },
  {
    // [cdna]; est. price
    id: "MI300X",
    vendor: "amd",
    vramGb: 192,
    tier: "datacenter",
    reportedNames: ["AMD Instinct MI300X"],
    architecture: "cdna3",
    memoryBandwidthGBps: 5300,
    bf16Tflops: 1307.4,
    fp16Tflops: 1307.4,
    fp32Tflops: 163.4,
    referencePriceMicrosPerHour: 5_000_000,
  },
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
