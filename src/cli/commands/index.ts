import type { Command } from "../command.js";
import { chatCommand } from "./chat.js";
import { devFaucetCommand } from "./dev-faucet.js";
import { endpointCommands } from "./endpoints.js";
import { jobOutputCommands } from "./job-outputs.js";
import { jobPauseCommands } from "./job-pause.js";
import { jobCommands } from "./jobs.js";
import { keyCommands } from "./keys.js";
import { nodesCommand } from "./nodes.js";
import { receiptCommands } from "./receipts.js";
import { signupCommand } from "./signup.js";

/** Every command, in the order the overview lists them. */
export const COMMANDS: readonly Command[] = [
  signupCommand,
  ...jobCommands,
  ...jobPauseCommands,
  ...jobOutputCommands,
  nodesCommand,
  ...keyCommands,
  ...receiptCommands,
  ...endpointCommands,
  chatCommand,
  devFaucetCommand,
];
