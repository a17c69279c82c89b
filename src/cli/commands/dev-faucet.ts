import type { Command } from "../command.js";
import { printResult } from "../command.js";
import { formatKeyValues } from "../table.js";

export const devFaucetCommand: Command = {
  words: ["dev", "faucet"],
  summary: "send test tokens to a wallet on the local chain",
  usage: `Usage: meridian dev faucet <wallet> <amount> [--token usdc|mrd|sol]

Sends <amount> whole tokens (default USDC; MRD, or SOL for fees) to <wallet> on the local Solana
chain that \`npm start\` runs. Refused (403) when the control plane's chain is not the local one.
`,
  options: ["token"],
  arity: [2, 2],
  async run(context) {
    const [wallet = "", amount = ""] = context.args;
    const token = context.values.token ?? "usdc";
    const { data, raw } = await context.client.devFaucet({ wallet, amount, token });
    printResult(context, raw, () =>
      formatKeyValues([
        ["sent", `${data.amount} ${data.token.toUpperCase()}`],
        ["to", data.wallet],
        ["signature", data.signature],
      ]),
    );
  },
};
