// Reading an OpenAI-style request body for server.mjs: the JSON object itself (at most 10 MB), its
// sampling fields checked the way OpenAI and vLLM answer bad ones (400 with the field as `param`),
// and a chat's messages as the plain transcript the tiny model is prompted with.
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export class RequestError extends Error {
  constructor(status, message, param = null, code = null) {
    super(message);
    this.status = status;
    this.param = param;
    this.code = code;
  }
}

export async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new RequestError(413, "the request body is over 10 MB");
    chunks.push(chunk);
  }
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new Error("not an object");
    return body;
  } catch {
    throw new RequestError(400, "the body is not a JSON object");
  }
}

export function integerField(body, name, fallback, min, max) {
  const value = body[name];
  if (value === undefined || value === null) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RequestError(400, `${name} must be an integer from ${min} to ${max}`, name);
  }
  return value;
}

export function numberField(body, name, fallback, min, max) {
  const value = body[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || value < min || value > max) {
    throw new RequestError(400, `${name} must be a number from ${min} to ${max}`, name);
  }
  return value;
}

export function stopField(body) {
  const stop = body.stop;
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === "string" ? [stop] : stop;
  if (!Array.isArray(list) || list.length > 4 || list.some((s) => typeof s !== "string" || s === "")) {
    throw new RequestError(400, "stop must be a string or up to 4 strings", "stop");
  }
  return list;
}

export function modelField(body) {
  if (typeof body.model !== "string" || body.model === "") {
    throw new RequestError(400, "model is required", "model");
  }
  return body.model;
}

/** The text of a message's content: a string, or the text parts of an array. */
export function contentText(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part?.type === "text" && typeof part.text === "string" ? part.text : ""))
      .join("");
  }
  if (content === null || content === undefined) return "";
  throw new RequestError(400, "a message's content must be a string or an array of parts", "messages");
}

/** A plain role-tagged transcript ending where the assistant speaks (the model has no template). */
export function chatPrompt(messages) {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new RequestError(400, "messages must be a non-empty array", "messages");
  }
  const lines = messages.map((message) => {
    if (typeof message?.role !== "string")
      throw new RequestError(400, "each message needs a role", "messages");
    return `${message.role}: ${contentText(message.content)}`;
  });
  return `${lines.join("\n")}\nassistant:\n`;
}

/** The sampling a completion asks for; `contextSize` bounds its token count. */
export function samplingOf(body, contextSize) {
  const maxTokens = integerField(
    body,
    body.max_completion_tokens !== undefined ? "max_completion_tokens" : "max_tokens",
    null,
    1,
    contextSize,
  );
  const n = integerField(body, "n", 1, 1, 1);
  void n;
  return {
    maxTokens,
    // Greedy unless asked otherwise, so the same request always gets the same answer.
    temperature: numberField(body, "temperature", 0, 0, 2),
    seed: integerField(body, "seed", undefined, -(2 ** 53), 2 ** 53),
    stop: stopField(body),
    ignoreEos: body.ignore_eos === true,
  };
}
