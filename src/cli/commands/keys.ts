import { type ApiKeyView, KeyScope } from "../../shared/api-key-scopes.js";
import { UsageError } from "../cli-error.js";
import type { Command } from "../command.js";
import { printResult } from "../command.js";
import { parseDurationSeconds } from "../duration.js";
import { formatKeyValues, formatTable, orDash } from "../table.js";

const SCOPES_HELP = `Scopes:
  full               everything the account may do (needed to manage keys)
  read               GET requests only: dashboards, monitoring, CI status checks
  provider           the provider surface: own nodes, earnings, pricing, node registration
  endpoint:<ep_id>   one inference endpoint only`;

const list: Command = {
  words: ["keys", "list"],
  summary: "list your API keys (never their secrets)",
  usage: "Usage: meridian keys list\n",
  options: [],
  arity: [0, 0],
  async run(context) {
    const { data, raw } = await context.client.listKeys();
    printResult(context, raw, () => renderKeys(data.keys));
  },
};

const create: Command = {
  words: ["keys", "create"],
  summary: "create an API key with scopes; its secret is shown once",
  usage: `Usage: meridian keys create --scope <scope> [--scope <scope>]... [--name <name>] [--expires-in <duration>]

Creates a key for your account and prints its secret: this is the only time it is shown. The
key in your config file must be a full key. The new key is not saved to the config file.
With --expires-in (1m to 1d, e.g. 15m, 12h) it is a session key: refused after that time.

${SCOPES_HELP}
`,
  options: ["scope", "name", "expires-in"],
  arity: [0, 0],
  async run(context) {
    const scopes = parseScopes(context.values.scope ?? []);
    const expiresIn = context.values["expires-in"];
    const { data, raw } = await context.client.createKey({
      scopes,
      name: context.values.name,
      ...(expiresIn === undefined
        ? {}
        : { expiresInSeconds: parseDurationSeconds(expiresIn, "--expires-in") }),
    });
    printResult(context, raw, () =>
      formatKeyValues([
        ["key", data.id],
        ["name", orDash(data.name)],
        ["scopes", data.scopes.join(", ")],
        ["expires at", orDash(data.expiresAt)],
        ["api key", data.apiKey],
      ]),
    );
    if (!context.values.json) {
      context.io.stderr("note: the api key is shown only now; store it somewhere safe\n");
    }
  },
};

const revoke: Command = {
  words: ["keys", "revoke"],
  summary: "revoke an API key at once",
  usage: `Usage: meridian keys revoke <key-id>

Requests with the key are refused from now on. Revoking the key you are using signs you out.
`,
  options: [],
  arity: [1, 1],
  async run(context) {
    const [id = ""] = context.args;
    if (!/^key_/.test(id))
      throw new UsageError(`a key id starts with key_, got "${id}" (see meridian keys list)`);
    const { data, raw } = await context.client.revokeKey(id);
    printResult(context, raw, () =>
      formatKeyValues([
        ["key", data.id],
        ["revoked at", orDash(data.revokedAt)],
      ]),
    );
  },
};

export const keyCommands: readonly Command[] = [list, create, revoke];

/** Checks each scope here, so a typo is a usage error that lists the scopes, not a 400. */
function parseScopes(given: readonly string[]): KeyScope[] {
  if (given.length === 0) throw new UsageError(`give at least one --scope\n\n${SCOPES_HELP}`);
  return given.map((scope) => {
    const parsed = KeyScope.safeParse(scope);
    if (!parsed.success) throw new UsageError(`unknown scope "${scope}"\n\n${SCOPES_HELP}`);
    return parsed.data;
  });
}

/** A key's state now: revoked, expired (a session key past its end), or active (until its end). */
function keyStatus(key: ApiKeyView, now: number): string {
  if (key.revokedAt !== null) return `revoked ${key.revokedAt}`;
  if (key.expiresAt === null) return "active";
  return Date.parse(key.expiresAt) <= now ? `expired ${key.expiresAt}` : `active until ${key.expiresAt}`;
}

export function renderKeys(keys: readonly ApiKeyView[], now: number = Date.now()): string {
  if (keys.length === 0) return "No keys.\n";
  return formatTable(
    ["ID", "NAME", "SCOPES", "CREATED", "STATUS"],
    keys.map((key) => [key.id, orDash(key.name), key.scopes.join(","), key.createdAt, keyStatus(key, now)]),
  );
}
