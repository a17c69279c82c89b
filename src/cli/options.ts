import { parseArgs } from "node:util";
import { UsageError } from "./cli-error.js";

/**
 * Every option any command takes, parsed in one pass so global options may come before or after
 * the command words; `runCli` then refuses an option the chosen command does not take.
 */
export const OPTIONS = {
  "api-url": { type: "string" },
  "api-key": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  name: { type: "string" },
  image: { type: "string" },
  gpus: { type: "string" },
  "gpu-model": { type: "string", multiple: true },
  "min-vram-gb": { type: "string" },
  cpus: { type: "string" },
  "memory-gb": { type: "string" },
  region: { type: "string" },
  "max-price": { type: "string" },
  timeout: { type: "string" },
  "max-retries": { type: "string" },
  env: { type: "string", multiple: true },
  template: { type: "string" },
  set: { type: "string", multiple: true },
  status: { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  follow: { type: "boolean", short: "f" },
  keep: { type: "string" },
  path: { type: "string" },
  token: { type: "string" },
  scope: { type: "string", multiple: true },
  "expires-in": { type: "string" },
  rpc: { type: "string" },
  signer: { type: "string" },
  "region-key": { type: "string" },
  min: { type: "string" },
  max: { type: "string" },
  system: { type: "string" },
  "max-tokens": { type: "string" },
} as const;

export type OptionName = keyof typeof OPTIONS;

/** Options every command takes. */
export const GLOBAL_OPTIONS: readonly OptionName[] = ["api-url", "api-key", "json", "help"];

export interface CommandLine {
  readonly values: OptionValues;
  /** Positionals before `--`: the command words, then the command's own arguments. */
  readonly words: readonly string[];
  /** Everything after `--`, untouched (a job's command). */
  readonly rest: readonly string[];
  /** The options given, by name, to check against what the command takes. */
  readonly given: ReadonlySet<OptionName>;
}

export type OptionValues = ReturnType<typeof parse>["values"];

function parse(args: readonly string[]) {
  return parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
}

export function parseCommandLine(argv: readonly string[]): CommandLine {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    // parseArgs reports unknown options and missing values as TypeErrors with ERR_PARSE_ARGS_* codes.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const words: string[] = [];
  const rest: string[] = [];
  const given = new Set<OptionName>();
  let afterTerminator = false;
  for (const token of parsed.tokens) {
    if (token.kind === "option-terminator") afterTerminator = true;
    else if (token.kind === "positional") (afterTerminator ? rest : words).push(token.value);
    else if (isOptionName(token.name)) given.add(token.name);
  }
  return { values: parsed.values, words, rest, given };
}

function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(OPTIONS, name);
}
