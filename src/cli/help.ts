import type { Command } from "./command.js";
import { DEFAULT_API_URL } from "./config.js";

const GLOBAL_HELP = `Global options:
  --api-url <url>   control plane URL (env MERIDIAN_API_URL, the config file, else ${DEFAULT_API_URL})
  --api-key <key>   API key (env MERIDIAN_API_KEY, else the config file)
  --json            print the server's JSON response instead of a table
  -h, --help        show help
`;

/** The overview: every command with its one-line summary. */
export function overviewHelp(commands: readonly Command[]): string {
  const names = commands.map((command) => command.words.join(" "));
  const width = Math.max(...names.map((name) => name.length));
  const lines = commands.map((command, i) => `  ${(names[i] ?? "").padEnd(width)}  ${command.summary}`);
  return `Usage: meridian <command> [options]

Meridian CLI: run containers on a decentralized GPU cloud.

Commands:
${lines.join("\n")}

${GLOBAL_HELP}
Run "meridian <command> --help" for a command's own options.
`;
}

export function commandHelp(command: Command): string {
  return `${command.usage}\n${GLOBAL_HELP}`;
}
