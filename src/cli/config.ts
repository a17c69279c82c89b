import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { CliError } from "./cli-error.js";

export const DEFAULT_API_URL = "http://localhost:8787";

/** What `meridian signup` saves: where the API is and the key it issued. */
export const CliConfig = z.object({ apiUrl: z.string().optional(), apiKey: z.string().optional() });
export type CliConfig = z.infer<typeof CliConfig>;

type Env = Readonly<Record<string, string | undefined>>;

/** `$MERIDIAN_CONFIG`, else `$XDG_CONFIG_HOME/meridian/config.json`, else `~/.config/meridian/config.json`. */
export function configPath(env: Env): string {
  if (env.MERIDIAN_CONFIG) return env.MERIDIAN_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "meridian", "config.json");
}

/** The saved config, or an empty one when there is no file yet. */
export async function loadConfig(path: string): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") return {};
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError("bad_config", `${path} is not valid JSON; fix it or delete it and sign up again`);
  }
  const parsed = CliConfig.safeParse(json);
  if (!parsed.success) {
    throw new CliError("bad_config", `${path} should hold {"apiUrl": "...", "apiKey": "..."}`);
  }
  return parsed.data;
}

/** Writes the config readable by its owner only: it holds a secret. */
export async function saveConfig(path: string, config: CliConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // The mode above applies only when the file is created; an older file keeps its own otherwise.
  await chmod(path, 0o600);
}

export interface Settings {
  readonly apiUrl: string;
  readonly apiKey: string | undefined;
}

/** Flag, then environment, then config file, then the local default. */
export function resolveSettings(
  flags: { readonly apiUrl?: string | undefined; readonly apiKey?: string | undefined },
  env: Env,
  config: CliConfig,
): Settings {
  const apiUrl = flags.apiUrl || env.MERIDIAN_API_URL || config.apiUrl || DEFAULT_API_URL;
  const apiKey = flags.apiKey || env.MERIDIAN_API_KEY || config.apiKey || undefined;
  if (!/^https?:\/\/[^/]/i.test(apiUrl)) {
    // Without a scheme fetch fails as if nothing listened; say what is wrong instead.
    throw new CliError(
      "bad_api_url",
      `the API URL "${apiUrl}" needs a scheme: http://${apiUrl.replace(/^\/+/, "")}`,
    );
  }
  return { apiUrl: apiUrl.replace(/\/+$/, ""), apiKey };
}
