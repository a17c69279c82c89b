import type { MeridianClient } from "../shared/client/meridian-client.js";
import type { CliConfig, Settings } from "./config.js";
import type { CliIo } from "./io.js";
import type { OptionName, OptionValues } from "./options.js";

export interface CommandContext {
  readonly io: CliIo;
  /** Positionals after the command words. */
  readonly args: readonly string[];
  /** Everything after `--`. */
  readonly rest: readonly string[];
  readonly values: OptionValues;
  readonly settings: Settings;
  readonly configFile: string;
  /** The config file's content as it was when the command started. */
  readonly config: CliConfig;
  readonly client: MeridianClient;
}

export interface Command {
  /** The words that name it: `["jobs", "submit"]`. */
  readonly words: readonly string[];
  /** One line for the overview. */
  readonly summary: string;
  /** Its own help: the synopsis and what its options do. */
  readonly usage: string;
  /** Options it takes besides the global ones. */
  readonly options: readonly OptionName[];
  /** How many positionals it takes after its words, at least and at most. */
  readonly arity: readonly [number, number];
  /** Whether it takes a command after `--`. */
  readonly takesRest?: boolean;
  readonly run: (context: CommandContext) => Promise<void>;
}

/** `--json` prints the response body as the server sent it; otherwise the readable form. */
export function printResult(context: CommandContext, raw: unknown, readable: () => string): void {
  context.io.stdout(context.values.json ? `${JSON.stringify(raw, null, 2)}\n` : readable());
}
