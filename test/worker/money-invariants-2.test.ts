import { afterEach, describe, it } from "vitest";
import { runMoneySequence } from "./money-sequence.js";
import { drainAgents } from "./support.js";

const SEED = 0x5eed0002;
const OPERATIONS = 500;

describe("money invariants through the real job flow", () => {
  afterEach(drainAgents);

  it(`hold after every one of ${OPERATIONS} random operations (seed ${SEED.toString(16)})`, async () => {
    await runMoneySequence(SEED, "us-east", OPERATIONS);
  }, 240_000); // CPU-bound: ~50 s on a quiet 2-core machine, several times that under load
});
