import { stopWorkerTestChain } from "./worker-chain.js";

/** vitest globalSetup: the chain the workers config started is stopped when the run ends. */
export default function setup(): () => Promise<void> {
  return stopWorkerTestChain;
}
