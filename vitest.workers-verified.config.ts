import { workersConfig } from "./vitest.workers.config.js";

// The workerd suite of the production path: REQUIRE_VERIFIED_GPUS=true, as a deployment runs.
export default workersConfig({
  name: "workers-verified",
  include: ["test/worker/verified/**/*.test.ts"],
  requireVerifiedGpus: "true",
});
