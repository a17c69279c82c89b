// The inference engine of meridian/llm:test: llama.cpp (node-llama-cpp 3.21.1, its prebuilt CPU
// binary) serving an OpenAI-compatible HTTP API, the way vLLM or llama.cpp's own server does:
// POST /v1/chat/completions, /v1/completions, /v1/embeddings (streaming as server-sent events,
// `data: [DONE]` last, `stream_options.include_usage` honoured), GET /v1/models and GET /health.
//
// Settings (environment): PORT (8000), MODEL_PATH (/model/model.gguf), MODEL_NAME (the id it
// answers to; default: any `model` is accepted and echoed), PARALLEL (sequences generated at once,
// 4), TOKEN_DELAY_MS (a pause after each token, standing in for a slower model; 0).
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { getLlama } from "node-llama-cpp";
import { chatPrompt, modelField, RequestError, readJson, samplingOf } from "./request-fields.mjs";

const PORT = Number(process.env.PORT ?? 8000);
const MODEL_PATH = process.env.MODEL_PATH ?? "/model/model.gguf";
const MODEL_NAME = process.env.MODEL_NAME ?? "meridian-tiny";
const PARALLEL = Math.max(1, Number(process.env.PARALLEL ?? 4));
const TOKEN_DELAY_MS = Math.max(0, Number(process.env.TOKEN_DELAY_MS ?? 0));
const CONTEXT_SIZE = 2048;

let engine;
const waiting = [];

function log(line) {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

async function load() {
  const started = Date.now();
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
  const model = await llama.loadModel({ modelPath: MODEL_PATH });
  const context = await model.createContext({ contextSize: CONTEXT_SIZE, threads: 1, sequences: PARALLEL });
  const free = [];
  for (let i = 0; i < PARALLEL; i++) free.push(context.getSequence());
  const embedder = await model.createEmbeddingContext({ threads: 1 });
  engine = { model, free, embedder };
  log(`model ${MODEL_PATH} loaded in ${Date.now() - started} ms; serving ${PARALLEL} sequences on :${PORT}`);
}

/** A free sequence, waiting for one when all are generating. */
async function acquire() {
  const sequence = engine.free.pop();
  if (sequence !== undefined) return sequence;
  return new Promise((resolve) => waiting.push(resolve));
}

async function release(sequence) {
  await sequence.clearHistory();
  const next = waiting.shift();
  if (next) next(sequence);
  else engine.free.push(sequence);
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res, error) {
  const status = error instanceof RequestError ? error.status : 500;
  const message = error instanceof RequestError ? error.message : "the engine failed";
  if (!(error instanceof RequestError)) log(`error: ${error?.stack ?? error}`);
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, status, {
    error: {
      message,
      type: status >= 500 ? "server_error" : "invalid_request_error",
      param: error.param ?? null,
      code: error.code ?? null,
    },
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Generates from `prompt`, calling `onText` with each new piece of text; resolves with the token
 * counts and why it stopped. `signal` (the caller went away) ends it at the next token.
 */
async function generate({ prompt, maxTokens, temperature, seed, stop, ignoreEos, signal, onText }) {
  const { model } = engine;
  const promptTokens = model.tokenize(prompt);
  if (model.tokens.bos !== null) promptTokens.unshift(model.tokens.bos);
  if (promptTokens.length + maxTokens > CONTEXT_SIZE) {
    throw new RequestError(
      400,
      `the prompt (${promptTokens.length} tokens) and max_tokens (${maxTokens}) exceed the context of ${CONTEXT_SIZE}`,
      "max_tokens",
    );
  }
  const sequence = await acquire();
  const generated = [];
  let count = 0;
  let emitted = "";
  // The generator ends by itself at an end-of-generation token (unless asked to yield them).
  let finish = "stop";
  try {
    const options = { temperature, yieldEogToken: ignoreEos, ...(seed !== undefined ? { seed } : {}) };
    for await (const token of sequence.evaluate(promptTokens, options)) {
      if (signal.aborted) {
        finish = "cancelled";
        break;
      }
      count++;
      if (count >= maxTokens) finish = "length";
      if (model.isEogToken(token)) {
        if (finish === "length") break;
        continue;
      }
      generated.push(token);
      // Decoding the whole answer each time keeps multi-token characters whole.
      const text = model.detokenize(generated);
      let piece = text.slice(emitted.length);
      const full = emitted + piece;
      const hit = stop.map((s) => full.indexOf(s)).filter((at) => at >= 0);
      if (hit.length > 0) {
        piece = full.slice(emitted.length, Math.min(...hit));
        if (piece.length > 0) await onText(piece);
        finish = "stop";
        break;
      }
      if (piece.length > 0) {
        emitted = full;
        await onText(piece);
      }
      if (finish === "length") break;
      if (TOKEN_DELAY_MS > 0) await sleep(TOKEN_DELAY_MS);
    }
  } finally {
    await release(sequence);
  }
  return { promptTokens: promptTokens.length, completionTokens: count, finish };
}

/** Server-sent events as OpenAI writes them; each write waits for the socket when it is full. */
function eventStream(res) {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  return async (data) => {
    const text = `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
    if (!res.write(text)) await new Promise((resolve) => res.once("drain", resolve).once("close", resolve));
  };
}

function usageOf(result) {
  return {
    prompt_tokens: result.promptTokens,
    completion_tokens: result.completionTokens,
    total_tokens: result.promptTokens + result.completionTokens,
  };
}

async function chatCompletions(req, res, signal) {
  const body = await readJson(req);
  const model = modelField(body);
  const prompt = chatPrompt(body.messages);
  const sampling = samplingOf(body, CONTEXT_SIZE);
  const maxTokens = sampling.maxTokens ?? CONTEXT_SIZE - 256;
  const id = `chatcmpl-${randomUUID().replaceAll("-", "")}`;
  const created = Math.floor(Date.now() / 1000);
  const started = Date.now();
  if (body.stream === true) {
    const send = eventStream(res);
    const chunk = (delta, finishReason) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    });
    await send(chunk({ role: "assistant", content: "" }, null));
    const result = await generate({
      prompt,
      ...sampling,
      maxTokens,
      signal,
      onText: (text) => send(chunk({ content: text }, null)),
    });
    logRequest("chat stream", result, started);
    if (result.finish === "cancelled") return res.end();
    await send(chunk({}, result.finish));
    if (body.stream_options?.include_usage === true) {
      await send({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        choices: [],
        usage: usageOf(result),
      });
    }
    await send("[DONE]");
    return res.end();
  }
  let content = "";
  const result = await generate({ prompt, ...sampling, maxTokens, signal, onText: (t) => (content += t) });
  logRequest("chat", result, started);
  if (result.finish === "cancelled") return res.end();
  sendJson(res, 200, {
    id,
    object: "chat.completion",
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content, refusal: null },
        logprobs: null,
        finish_reason: result.finish,
      },
    ],
    usage: usageOf(result),
  });
}

async function completions(req, res, signal) {
  const body = await readJson(req);
  const model = modelField(body);
  const prompt = Array.isArray(body.prompt) && body.prompt.length === 1 ? body.prompt[0] : body.prompt;
  if (typeof prompt !== "string") throw new RequestError(400, "prompt must be a string", "prompt");
  const sampling = samplingOf(body, CONTEXT_SIZE);
  // OpenAI's default for the legacy completions endpoint.
  const maxTokens = sampling.maxTokens ?? 16;
  const id = `cmpl-${randomUUID().replaceAll("-", "")}`;
  const created = Math.floor(Date.now() / 1000);
  const started = Date.now();
  const choice = (text, finishReason) => ({ text, index: 0, logprobs: null, finish_reason: finishReason });
  if (body.stream === true) {
    const send = eventStream(res);
    const result = await generate({
      prompt,
      ...sampling,
      maxTokens,
      signal,
      onText: (text) =>
        send({ id, object: "text_completion", created, model, choices: [choice(text, null)] }),
    });
    logRequest("completion stream", result, started);
    if (result.finish === "cancelled") return res.end();
    await send({ id, object: "text_completion", created, model, choices: [choice("", result.finish)] });
    if (body.stream_options?.include_usage === true) {
      await send({ id, object: "text_completion", created, model, choices: [], usage: usageOf(result) });
    }
    await send("[DONE]");
    return res.end();
  }
  let text = "";
  const result = await generate({ prompt, ...sampling, maxTokens, signal, onText: (t) => (text += t) });
  logRequest("completion", result, started);
  if (result.finish === "cancelled") return res.end();
  sendJson(res, 200, {
    id,
    object: "text_completion",
    created,
    model,
    choices: [choice(text, result.finish)],
    usage: usageOf(result),
  });
}

async function embeddings(req, res) {
  const body = await readJson(req);
  const model = modelField(body);
  const inputs = typeof body.input === "string" ? [body.input] : body.input;
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > 256) {
    throw new RequestError(400, "input must be a string or 1 to 256 strings", "input");
  }
  if (inputs.some((input) => typeof input !== "string")) {
    throw new RequestError(400, "input must be a string or 1 to 256 strings", "input");
  }
  const format = body.encoding_format ?? "float";
  if (format !== "float" && format !== "base64") {
    throw new RequestError(400, 'encoding_format must be "float" or "base64"', "encoding_format");
  }
  let tokens = 0;
  const data = [];
  for (const [index, input] of inputs.entries()) {
    tokens += engine.model.tokenize(input).length;
    const { vector } = await engine.embedder.getEmbeddingFor(input);
    const floats = Float32Array.from(vector);
    const embedding = format === "base64" ? Buffer.from(floats.buffer).toString("base64") : [...floats];
    data.push({ object: "embedding", index, embedding });
  }
  sendJson(res, 200, { object: "list", data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

function logRequest(kind, result, started) {
  const what = result.finish === "cancelled" ? "cancelled by the caller" : `finish=${result.finish}`;
  log(`${kind}: ${what} after ${result.completionTokens} tokens in ${Date.now() - started} ms`);
}

const server = createServer((req, res) => {
  // The caller went away before the answer was complete: stop generating for it.
  const cancel = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) cancel.abort();
  });
  const url = new URL(req.url ?? "/", "http://engine");
  const route = `${req.method} ${url.pathname}`;
  if (route === "GET /health") {
    return engine ? sendJson(res, 200, { status: "ok" }) : sendJson(res, 503, { status: "loading" });
  }
  if (!engine) return sendError(res, new RequestError(503, "the model is still loading"));
  const handlers = {
    "POST /v1/chat/completions": chatCompletions,
    "POST /v1/completions": completions,
    "POST /v1/embeddings": embeddings,
    "GET /v1/models": (_req, response) =>
      sendJson(response, 200, {
        object: "list",
        data: [{ id: MODEL_NAME, object: "model", created: 0, owned_by: "meridian" }],
      }),
  };
  const handler = handlers[route];
  if (!handler) return sendError(res, new RequestError(404, `no route ${route}`, null, "not_found"));
  Promise.resolve(handler(req, res, cancel.signal)).catch((error) => sendError(res, error));
});

server.listen(PORT, "0.0.0.0", () => log(`listening on :${PORT}; loading the model`));
load().catch((error) => {
  log(`could not load the model: ${error?.stack ?? error}`);
  process.exit(1);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    log(`${signal}: closing`);
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
