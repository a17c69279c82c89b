import { z } from "zod";
import { JobStatus } from "./job-status.js";
import { ReferralCode } from "./referral-api.js";
import { StakeTier } from "./staking-api.js";

/** Response bodies of the user API; the CLI parses what it receives with these. */

export const AccountCreated = z.object({ id: z.string(), apiKey: z.string() });
export type AccountCreated = z.infer<typeof AccountCreated>;

export const CreateAccountRequest = z
  .object({
    name: z.string().min(1).max(128).optional(),
    email: z.email().max(254).optional(),
    /** Another account's referral code: it earns a share of this account's fees for a while. */
    referralCode: ReferralCode.optional(),
  })
  .strict();

/** Why a queued job is not placed, and what would place it (the scheduler's explanation). */
export const PlacementExplanation = z.object({
  message: z.string(),
  /** What stops it: a constraint name, "capacity" (matching nodes are busy), "retry_backoff", or null. */
  binding: z.string().nullable(),
  totalNodes: z.number().int(),
  /** Nodes failing each constraint (a node failing two counts under both). */
  failing: z.record(z.string(), z.number().int()),
  busy: z.number().int(),
  /** Changes that would place it now, nearest first. */
  relaxations: z.array(
    z.object({ field: z.string(), value: z.union([z.string(), z.number()]).optional(), text: z.string() }),
  ),
  estimatedStartAt: z.string().nullable(),
});
export type PlacementExplanation = z.infer<typeof PlacementExplanation>;

export const JobView = z.object({
  id: z.string(),
  name: z.string(),
  status: JobStatus,
  /** Why the job is where it is: the pending reason while queued, the failure reason once ended. */
  reason: z.string().nullable(),
  region: z.string(),
  image: z.string(),
  nodeId: z.string().nullable(),
  attemptId: z.string().nullable(),
  attempts: z.number().int(),
  exitCode: z.number().int().nullable(),
  createdAt: z.string(),
  assignedAt: z.string().nullable(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  spec: z.record(z.string(), z.unknown()),
  /** For a queued job: why it waits and what would place it. */
  explanation: PlacementExplanation.optional(),
  /** Charged so far for its attempts, and still reserved for it, in USD (and integer µUSD). */
  cost: z.object({
    charged: z.string(),
    chargedMicros: z.number().int(),
    held: z.string(),
    heldMicros: z.number().int(),
  }),
});
export type JobView = z.infer<typeof JobView>;

export const JobList = z.object({ jobs: z.array(JobView), nextCursor: z.string().nullable() });
export type JobList = z.infer<typeof JobList>;

export const JobEventView = z.object({
  seq: z.number().int(),
  status: JobStatus,
  reason: z.string().nullable(),
  at: z.string(),
  attemptId: z.string().nullable(),
  nodeId: z.string().nullable(),
});
export const JobEventList = z.object({ events: z.array(JobEventView) });
export type JobEventView = z.infer<typeof JobEventView>;

/** The OpenAPI note on a host figure: the agent's word, which no challenge checks. */
function hostReported(what: string): string {
  return `The host's ${what} as the provider's agent reported it at registration; not verified by the region.`;
}

export const NodeGpuView = z.object({
  index: z.number().int(),
  /** The catalogue part it is listed, matched and priced as: what verification measured it as. */
  model: z.string().nullable(),
  /** The part the provider's agent reported; differs from `model` when verification re-classified it. */
  claimedModel: z.string().nullable(),
  name: z.string(),
  vramGb: z.number(),
});

export const NodeView = z.object({
  id: z.string(),
  region: z.string(),
  /** `draining`: live, finishing what runs, taking no new work (outside its operating windows). */
  status: z.enum(["online", "draining", "offline"]),
  gpus: z.array(NodeGpuView),
  freeGpus: z.number().int(),
  /** The host's CPU count as the provider's agent reported it at registration (see `hostVerified`). */
  cpus: z.number().describe(hostReported("CPU count")),
  /** The host's memory in GB as the provider's agent reported it at registration (see `hostVerified`). */
  memoryGb: z.number().describe(hostReported("memory in GB")),
  /**
   * Always false today: the region measures a node's GPUs (model, VRAM, bandwidth, TFLOP/s), never
   * its host, so `cpus` and `memoryGb` are the provider's word (docs/VERIFICATION.md, "What the
   * region does not measure"). A field rather than a footnote, so a client cannot miss it. Always
   * sent; optional only so that clients still read older servers, whose figures were as unverified.
   */
  hostVerified: z
    .boolean()
    .optional()
    .describe(
      "False: cpus and memoryGb are what the provider's agent reported; the region verifies GPUs, not the host.",
    ),
  pricePerGpuHour: z.string(),
  /**
   * What CPU-only work pays it per vCPU-hour: its provider's price, else the CPU table's (always
   * sent; optional only so that clients still read servers older than per-node CPU prices).
   */
  pricePerVcpuHour: z.string().optional(),
  /**
   * Whose price `pricePerVcpuHour` is: "node" when its provider set one (`pricePerVcpuHour` at
   * registration, kept in D1 `nodes.price_per_vcpu_hour_micros`), "table" when it asks the CPU
   * table's rate (GET /v1/pricing/cpu). Optional for the same reason as the price.
   */
  cpuPriceSource: z.enum(["node", "table"]).optional(),
  labels: z.record(z.string(), z.string()),
  /** Site or datacenter label: nodes sharing one form a low-latency group for gang jobs. */
  site: z.string().nullable(),
  /** Proof-of-GPU standing: "verified" nodes showed their GPUs' speed; CPU nodes are "not_required". */
  verification: z.string(),
  /**
   * What a verified node rests on: "attested" (every GPU's NVIDIA device attestation held, as
   * `placement.requireAttested` asks) or "timing" (timing-verified, not attested); null otherwise.
   */
  assurance: z.enum(["attested", "timing"]).nullable(),
  /** Verified dense TFLOP/s per GPU, and the price per verified TFLOP-hour; null until verified. */
  verifiedTflops: z.number().nullable(),
  pricePerVerifiedTflopHour: z.string().nullable(),
  /** 0..1; a node without history starts at 0.5. */
  reputation: z.number(),
  /** The listing tier its provider's MRD stake earns; staked nodes rank higher among close offers. */
  stakeTier: StakeTier,
});
export type NodeView = z.infer<typeof NodeView>;
export const NodeList = z.object({ nodes: z.array(NodeView) });

export const JobListQuery = z
  .object({
    status: JobStatus.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(64).optional(),
  })
  .strict();

export const LogsQuery = z
  .object({
    follow: z.enum(["0", "1", "true", "false"]).optional(),
    attempt: z.string().max(64).optional(),
    /** Answer as a file to save (`content-disposition: attachment`). */
    download: z.enum(["0", "1", "true", "false"]).optional(),
  })
  .strict();

/** POST /v1/quotes: would this spec place now, where, at what price, and when it would start. */
export const QuoteView = z.object({
  region: z.string(),
  placeable: z.boolean(),
  nodes: z.array(
    z.object({
      nodeId: z.string(),
      rank: z.number().int(),
      pricePerGpuHour: z.string(),
      /** A CPU-only spec's price per vCPU-hour on that node; null for GPU work. */
      pricePerVcpuHour: z.string().nullable(),
      gpus: z.number().int(),
    }),
  ),
  /** Price per GPU-hour across the nodes that could take it now (min and max). */
  pricePerGpuHour: z.object({ min: z.string(), max: z.string() }).nullable(),
  /** A CPU-only spec: price per vCPU-hour across the live nodes under its cap; null for GPU work. */
  pricePerVcpuHour: z.object({ min: z.string(), max: z.string() }).nullable(),
  /** Cost per hour of the placement quoted (all its nodes). */
  perHour: z.string().nullable(),
  estimatedStartAt: z.string().nullable(),
  explanation: PlacementExplanation,
});
export type QuoteView = z.infer<typeof QuoteView>;

/** GET /v1/health */
export const HealthView = z.object({
  ok: z.boolean(),
  regions: z.array(z.string()),
  defaultRegion: z.string(),
  /** Each region's centroid, as configured (wrangler.toml REGIONS): where the console's map puts it. */
  regionLocations: z.array(z.object({ id: z.string(), lat: z.number(), lon: z.number() })),
  /** The server's clock, ISO-8601: what agents compare theirs with. */
  time: z.string(),
});
export type HealthView = z.infer<typeof HealthView>;
