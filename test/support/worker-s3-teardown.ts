import { stopWorkerTestS3 } from "./worker-s3.js";

/** vitest globalSetup: the s3rver the workers config started is stopped when the run ends. */
export default function setup(): () => Promise<void> {
  return stopWorkerTestS3;
}
