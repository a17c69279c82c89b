/**
 * The region scheduler: inventory, constraints, scoring, fragmentation-aware packing, gangs, the
 * queue with fair share and backfill, and explanations. Pure TypeScript with no I/O, for the
 * Region Durable Object, tests and benchmarks alike.
 */
export { availableAt, type Hold, holdFor } from "./backfill.js";
export {
  type Advice,
  CONSTRAINT_REGISTRY,
  CONSTRAINTS,
  type Constraint,
  type ConstraintName,
  constraintRecord,
  type Fact,
} from "./constraints/index.js";
export {
  type Constraints,
  type Demand,
  demandFromSpec,
  type GeoCircle,
  specPriority,
  WHOLE_GPU_MILLI,
} from "./demand.js";
export { type Explanation, explain, type Relaxation } from "./explain.js";
export { fittingGroup } from "./feasibility.js";
export { nodeFragmentation, type TaskClass, type TaskShape, WorkloadProfile } from "./fragmentation.js";
export { chooseGang, type Gang, mutualRttMs } from "./gang.js";
export {
  allocationUnits,
  type GpuGroup,
  type GpuShare,
  Inventory,
  type NodeAllocation,
  NodeState,
  type Reservation,
  type ReservationMeta,
} from "./inventory.js";
export { type NodeFacts, nodeFromRecord } from "./node-from-record.js";
export { demandUnits, JobQueue, type QueuedJob } from "./queue.js";
export {
  type Clock,
  type PlacedNode,
  type Placement,
  Scheduler,
  type SchedulerOptions,
  type Started,
} from "./scheduler.js";
export { PRIOR_REPUTATION, type SchedulerGpu, type SchedulerNode } from "./scheduler-node.js";
export {
  POLICIES,
  type Policy,
  policyTerms,
  SCORE_TERMS,
  type ScoreTerm,
  type WeightedTerm,
} from "./score-terms/index.js";
export {
  assertOwnShard,
  parseShardKey,
  shardName,
  shardObjectName,
  shardOf,
  shardOfObjectName,
} from "./shards/shard-key.js";
export { fallbackShard, shardOrder } from "./shards/shard-order.js";
export { roomFor, type ShardSummary, summarise } from "./shards/shard-summary.js";
export { type ShardedOptions, type ShardedPlacement, ShardedScheduler } from "./shards/sharded-scheduler.js";
export { versionKey, versionText } from "./version.js";
