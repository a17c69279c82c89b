import type { Command } from "../command.js";
import { printResult } from "../command.js";
import { saveConfig } from "../config.js";
import { formatKeyValues } from "../table.js";

export const signupCommand: Command = {
  words: ["signup"],
  summary: "create an account and save its API key",
  usage: `Usage: meridian signup [--name <name>]

Creates an account on the control plane (--api-url) and saves the URL and the new API key to the
config file ($MERIDIAN_CONFIG, else ~/.config/meridian/config.json), readable only by you.
`,
  options: ["name"],
  arity: [0, 0],
  async run(context) {
    const { data, raw } = await context.client.createAccount({ name: context.values.name });
    const apiUrl = context.settings.apiUrl;
    await saveConfig(context.configFile, { apiUrl, apiKey: data.apiKey });
    printResult(context, raw, () =>
      formatKeyValues([
        ["account", data.id],
        ["api key", data.apiKey],
        ["api url", apiUrl],
        ["saved to", context.configFile],
      ]),
    );
    if (context.config.apiKey && context.config.apiKey !== data.apiKey) {
      context.io.stderr(`note: replaced the API key previously saved in ${context.configFile}\n`);
    }
  },
};
