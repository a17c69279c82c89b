import { WHOLE_GPU_MILLI } from "./demand.js";

/**
 * GPU fragmentation in the sense of the FGD paper (Weng et al., "Beware of Fragmentation:
 * Scheduling GPU-Sharing Workloads with Fragmentation Gradient Descent", USENIX ATC'23): the free
 * GPU capacity of a node that the jobs the region typically sees could not use, weighted by how
 * common each kind of job is. Placing where that measure grows least keeps whole GPUs and whole
 * nodes free for the jobs that need them.
 */

/** One kind of job in the region's recent workload, with its share of arrivals. */
export interface TaskClass {
  gpus: number;
  /** Models the class is restricted to; undefined for any. */
  gpuModels: readonly string[] | undefined;
  /** Per GPU, in thousandths (1000 = whole GPUs). */
  gpuMilli: number;
  cpuMilli: number;
  memoryMib: number;
  weight: number;
}

export interface TaskShape {
  gpus: number;
  constraints?: { gpuModels?: readonly string[] | undefined } | undefined;
  gpuMilli: number;
  cpuMilli: number;
  memoryMib: number;
}

const MAX_CLASSES = 48;
/** Shares of a GPU are grouped to the tenth, so a workload of many odd sizes stays a few classes. */
const MILLI_STEP = 100;

/**
 * The region's recent workload as a few task classes, learned from arrivals with exponential
 * decay so it follows a changing mix. Seeded with whole-GPU jobs of common sizes until it has seen
 * enough to stand on its own.
 */
export class WorkloadProfile {
  private readonly classes = new Map<string, TaskClass>();
  private total = 0;

  /** @param decay weight kept by each existing class per arrival (1 = never forget). */
  constructor(private readonly decay = 0.999) {}

  observe(shape: TaskShape): void {
    const gpuMilli =
      shape.gpuMilli >= WHOLE_GPU_MILLI
        ? WHOLE_GPU_MILLI
        : Math.max(MILLI_STEP, Math.round(shape.gpuMilli / MILLI_STEP) * MILLI_STEP);
    const models = shape.constraints?.gpuModels;
    const gpuModels = models === undefined ? undefined : [...new Set(models)].sort();
    // CPU in half-octaves: a job that needs a big host is a kind of its own, so the model (or node
    // shape) that alone can hold it is seen as scarce (see `scarcity.ts`).
    const cpuStep = Math.ceil(2 * Math.log2(shape.cpuMilli / 1000 + 1));
    const key = `${shape.gpus}:${gpuMilli}:${gpuModels?.join("|") ?? "*"}:${cpuStep}`;
    for (const known of this.classes.values()) known.weight *= this.decay;
    this.total = this.total * this.decay + 1;
    const known = this.classes.get(key);
    if (known) {
      // Running means: the class's CPU and memory follow what its jobs actually ask for.
      const share = 1 / (known.weight + 1);
      known.cpuMilli += (shape.cpuMilli - known.cpuMilli) * share;
      known.memoryMib += (shape.memoryMib - known.memoryMib) * share;
      known.weight += 1;
      return;
    }
    this.classes.set(key, {
      gpus: shape.gpus,
      gpuModels,
      gpuMilli,
      cpuMilli: shape.cpuMilli,
      memoryMib: shape.memoryMib,
      weight: 1,
    });
    if (this.classes.size > MAX_CLASSES) {
      let lightest: string | undefined;
      let least = Number.POSITIVE_INFINITY;
      for (const [name, value] of this.classes) {
        if (value.weight < least) {
          least = value.weight;
          lightest = name;
        }
      }
      if (lightest !== undefined) this.classes.delete(lightest);
    }
  }

  /** The classes, weights summing to 1; a default mix of 1, 2, 4 and 8 whole GPUs when empty. */
  snapshot(): TaskClass[] {
    const list = [...this.classes.values()].filter((value) => value.gpus > 0);
    const sum = list.reduce((total, value) => total + value.weight, 0);
    if (sum <= 0) return DEFAULT_CLASSES;
    return list.map((value) => ({ ...value, weight: value.weight / sum }));
  }
}

const DEFAULT_CLASSES: TaskClass[] = [1, 2, 4, 8].map((gpus) => ({
  gpus,
  gpuModels: undefined,
  gpuMilli: WHOLE_GPU_MILLI,
  cpuMilli: 0,
  memoryMib: 0,
  weight: 0.25,
}));

/**
 * The expected free GPU capacity, in thousandths, that a random job of the workload could not use
 * on a node with these free GPU shares, CPU and memory, and GPUs of these models. Per class: all
 * free GPU capacity when the job cannot run there at all (too little room, or GPUs of a model it
 * does not accept); else the GPUs too small for one of its shares (the FGD definition). So a job
 * that may run anywhere is steered away from the models that restricted jobs need.
 */
export function nodeFragmentation(
  freeMilli: ArrayLike<number>,
  freeCpuMilli: number,
  freeMemoryMib: number,
  classes: readonly TaskClass[],
  models: readonly string[],
): number {
  let totalFree = 0;
  let whole = 0;
  for (let index = 0; index < freeMilli.length; index++) {
    const free = freeMilli[index] ?? 0;
    totalFree += free;
    if (free >= WHOLE_GPU_MILLI) whole++;
  }
  if (totalFree === 0) return 0;
  let expected = 0;
  for (const task of classes) {
    let unusable: number;
    if (
      task.cpuMilli > freeCpuMilli ||
      task.memoryMib > freeMemoryMib ||
      (task.gpuModels !== undefined && !task.gpuModels.some((model) => models.includes(model)))
    )
      unusable = totalFree;
    else if (task.gpuMilli < WHOLE_GPU_MILLI) {
      unusable = 0;
      for (let index = 0; index < freeMilli.length; index++) {
        const free = freeMilli[index] ?? 0;
        if (free < task.gpuMilli) unusable += free;
      }
    } else if (whole < task.gpus) unusable = totalFree;
    else unusable = totalFree - whole * WHOLE_GPU_MILLI;
    expected += task.weight * unusable;
  }
  return expected;
}
