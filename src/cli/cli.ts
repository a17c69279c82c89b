import { ApiError } from "../shared/client/api-error.js";
import { MeridianClient } from "../shared/client/meridian-client.js";
import { apiErrorText } from "./api-error-text.js";
import { CliError, UsageError } from "./cli-error.js";
import type { Command } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { configPath, loadConfig, resolveSettings } from "./config.js";
import { commandHelp, overviewHelp } from "./help.js";
import type { CliIo } from "./io.js";
import { GLOBAL_OPTIONS, parseCommandLine } from "./options.js";

/** Exit statuses: 0 done, 1 the request or its input failed, 2 the command line is wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Runs one CLI invocation and returns its exit status; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let command: Command | undefined = findCommand(argv.filter((arg) => !arg.startsWith("-")));
  let resolvedUrl = "";
  try {
    const line = parseCommandLine(argv);
    command = findCommand(line.words);
    if (!command) {
      if (line.values.help || line.words.length === 0) {
        const help = overviewHelp(COMMANDS);
        if (line.values.help) io.stdout(help);
        else io.stderr(help);
        return line.values.help ? EXIT_OK : EXIT_USAGE;
      }
      const group = COMMANDS.filter((c) => c.words.length > 1 && c.words[0] === line.words[0]);
      if (group.length > 0) {
        const subcommands = group.map((c) => c.words.slice(1).join(" ")).join(", ");
        throw new UsageError(`"${line.words.join(" ")}" needs one of: ${subcommands}`);
      }
      throw new UsageError(`unknown command "${line.words.join(" ")}"`);
    }
    if (line.values.help) {
      io.stdout(commandHelp(command));
      return EXIT_OK;
    }
    checkCommandLine(command, line.words.length - command.words.length, line.rest.length, line.given);
    const configFile = configPath(io.env);
    const config = await loadConfig(configFile);
    const settings = resolveSettings(
      { apiUrl: line.values["api-url"], apiKey: line.values["api-key"] },
      io.env,
      config,
    );
    resolvedUrl = settings.apiUrl;
    const client = new MeridianClient({ baseUrl: settings.apiUrl, apiKey: settings.apiKey, fetch: io.fetch });
    await command.run({
      io,
      args: line.words.slice(command.words.length),
      rest: line.rest,
      values: line.values,
      settings,
      configFile,
      config,
      client,
    });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`error: ${error.message}\n\n${command ? commandHelp(command) : overviewHelp(COMMANDS)}`);
      return EXIT_USAGE;
    }
    if (error instanceof ApiError) {
      io.stderr(apiErrorText(error, resolvedUrl));
      return EXIT_FAILED;
    }
    if (error instanceof CliError) {
      io.stderr(`error ${error.code}: ${error.message}\n`);
      return EXIT_FAILED;
    }
    // A bug, not a user mistake: say so with the stack, which is the user's own process.
    io.stderr(`error internal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_FAILED;
  }
}

/** The command whose words begin `words`, the longest match winning. */
function findCommand(words: readonly string[]): Command | undefined {
  let best: Command | undefined;
  for (const command of COMMANDS) {
    const matches = command.words.every((word, i) => words[i] === word);
    if (matches && command.words.length > (best?.words.length ?? 0)) best = command;
  }
  return best;
}

function checkCommandLine(
  command: Command,
  argCount: number,
  restCount: number,
  given: ReadonlySet<string>,
): void {
  const name = command.words.join(" ");
  for (const option of given) {
    if (!GLOBAL_OPTIONS.some((o) => o === option) && !command.options.some((o) => o === option)) {
      throw new UsageError(`"${name}" does not take --${option}`);
    }
  }
  const [min, max] = command.arity;
  if (argCount < min) throw new UsageError(`"${name}" needs ${min} argument${min === 1 ? "" : "s"}`);
  if (argCount > max) throw new UsageError(`"${name}" takes at most ${max} argument${max === 1 ? "" : "s"}`);
  if (restCount > 0 && !command.takesRest) throw new UsageError(`"${name}" takes nothing after --`);
}
