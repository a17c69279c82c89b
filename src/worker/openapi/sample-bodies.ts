/** Example bodies shown in the API reference; the OpenAPI test checks each against its schema. */

export const SAMPLE_IDS = {
  account: "acct_01jf7c3x5m2q8r4t6v9w0y1z3a",
  job: "job_01jf7c3x5m2q8r4t6v9w0y1z3b",
  node: "node_7k2m9q4r8t1v5w3x6y0z2a4b6c",
  attempt: "att_01jf7c3x5m2q8r4t6v9w0y1z3c",
  transfer: "tx_01jf7c3x5m2q8r4t6v9w0y1z3d",
} as const;

export const SAMPLE_JOB_SPEC = {
  name: "hello",
  image: "meridian/busybox:test",
  command: ["sh", "-c", "echo hello; sleep 2; echo done"],
  resources: { gpus: 0, cpus: 1, memoryGb: 1 },
  timeoutSeconds: 600,
};

export const SAMPLE_GPU_SPEC = {
  name: "train-resnet",
  image: "ghcr.io/org/trainer:1.2",
  command: ["python", "train.py"],
  env: { EPOCHS: "10" },
  resources: { gpus: 1, gpuModels: ["H100-SXM"], minVramGb: 80 },
  maxPricePerGpuHour: "2.50",
  timeoutSeconds: 3600,
};

export const SAMPLE_EXPLANATION = {
  message: "waiting: the 1 matching node is busy",
  binding: "capacity",
  totalNodes: 1,
  failing: {},
  busy: 1,
  relaxations: [],
  estimatedStartAt: "2026-12-01T09:00:00.000Z",
};

export const SAMPLE_JOB_VIEW = {
  id: SAMPLE_IDS.job,
  name: "hello",
  status: "running",
  reason: null,
  region: "eu-west",
  image: "meridian/busybox:test",
  nodeId: SAMPLE_IDS.node,
  attemptId: SAMPLE_IDS.attempt,
  attempts: 1,
  exitCode: null,
  createdAt: "2026-12-01T08:00:00.000Z",
  assignedAt: "2026-12-01T08:00:00.350Z",
  startedAt: "2026-12-01T08:00:01.100Z",
  endedAt: null,
  spec: { ...SAMPLE_JOB_SPEC, env: {}, maxRetries: 2 },
  cost: { charged: "0.00", chargedMicros: 0, held: "0.50", heldMicros: 500000 },
};

export const SAMPLE_NODE_VIEW = {
  id: SAMPLE_IDS.node,
  region: "eu-west",
  status: "online",
  gpus: [
    { index: 0, model: "H100-SXM", claimedModel: "H100-SXM", name: "NVIDIA H100 80GB HBM3", vramGb: 80 },
  ],
  freeGpus: 1,
  cpus: 32,
  memoryGb: 256,
  hostVerified: false,
  pricePerGpuHour: "2.10",
  pricePerVcpuHour: "0.009483",
  cpuPriceSource: "table",
  labels: { site: "lab-1" },
  site: "lab-1",
  verification: "verified",
  assurance: "timing",
  verifiedTflops: 742.5,
  pricePerVerifiedTflopHour: "0.002828",
  reputation: 0.82,
  stakeTier: "silver",
};
