import type { ChatMessage } from "../../shared/client/endpoints-api.js";
import { UsageError } from "../cli-error.js";
import type { Command } from "../command.js";

export const chatCommand: Command = {
  words: ["chat"],
  summary: "send a prompt to an endpoint and stream the answer",
  usage: `Usage: meridian chat <endpoint> "prompt" [--system <text>] [--max-tokens <n>]

Streams a chat completion from the endpoint (its name, as the OpenAI model, or its id) to the
terminal as it is generated. A cold endpoint (at zero replicas) answers once a replica is ready.
Token usage is printed to stderr at the end; --json prints the whole answer as one JSON object.

Examples:
  meridian chat tiny-chat "hello"
  meridian chat tiny-chat "summarise this" --system "answer in one line" --max-tokens 64
`,
  options: ["system", "max-tokens"],
  arity: [2, 2],
  async run(context) {
    const [model = "", prompt = ""] = context.args;
    const maxText = context.values["max-tokens"];
    if (maxText !== undefined && !/^[1-9]\d{0,5}$/.test(maxText))
      throw new UsageError(`--max-tokens takes a positive whole number, got "${maxText}"`);
    const messages: ChatMessage[] = [];
    if (context.values.system) messages.push({ role: "system", content: context.values.system });
    messages.push({ role: "user", content: prompt });
    const json = context.values.json === true;
    let text = "";
    let usage: { promptTokens: number; completionTokens: number } | undefined;
    let finish = "";
    const stream = context.client.endpoints.chat({
      model,
      messages,
      ...(maxText === undefined ? {} : { maxTokens: Number(maxText) }),
    });
    for await (const piece of stream) {
      if (piece.kind === "text") {
        text += piece.text;
        if (!json) context.io.stdout(piece.text);
      } else if (piece.kind === "usage") usage = piece;
      else finish = piece.reason;
    }
    if (json) {
      context.io.stdout(
        `${JSON.stringify({ model, content: text, finishReason: finish, usage }, null, 2)}\n`,
      );
      return;
    }
    context.io.stdout("\n");
    if (usage)
      context.io.stderr(
        `(${usage.promptTokens} prompt + ${usage.completionTokens} completion tokens${finish ? `, ${finish}` : ""})\n`,
      );
  },
};
