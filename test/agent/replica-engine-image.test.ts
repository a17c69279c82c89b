import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable } from "../support/docker.js";
import { ensureLlmImage, LLM_IMAGE, LLM_STORY } from "../support/llm-image.js";

// The endpoint test image on its own: a real llama.cpp answering OpenAI's API from the project's
// generated model, confined as the agent confines jobs (nobody, no capabilities, read-only root).
const enabled = dockerAvailable("replica engine image");
const name = `meridian-test-llm-${process.pid}`;
let base = "";

function docker(...args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8", stdio: "pipe" }).trim();
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe.skipIf(!enabled)("meridian/llm:test", () => {
  beforeAll(async () => {
    ensureLlmImage();
    docker(
      "run",
      "-d",
      "--name",
      name,
      "--label",
      "meridian.test=replica-engine-image",
      "--user",
      "65534:65534",
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      "--read-only",
      "--tmpfs",
      "/tmp",
      "-e",
      "MODEL_NAME=tiny",
      LLM_IMAGE,
    );
    const ip = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name);
    base = `http://${ip}:8000`;
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`${base}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the engine never became healthy: ${docker("logs", name)}`);
  });
  afterAll(() => {
    if (enabled) execFileSync("docker", ["rm", "-f", name], { stdio: "pipe" });
  });

  it("answers a chat completion deterministically, with usage", async () => {
    const bodies = [];
    for (let i = 0; i < 2; i++) {
      const res = await post("/v1/chat/completions", {
        model: "ep",
        messages: [{ role: "user", content: "hi" }],
      });
      expect(res.status).toBe(200);
      bodies.push(await res.json());
    }
    const [first, second] = bodies;
    expect(first.choices[0].message).toMatchObject({ role: "assistant", content: LLM_STORY });
    expect(first.choices[0].finish_reason).toBe("stop");
    expect(first.model).toBe("ep");
    expect(first.usage.completion_tokens).toBeGreaterThan(30);
    expect(first.usage.total_tokens).toBe(first.usage.prompt_tokens + first.usage.completion_tokens);
    expect(second.choices[0].message.content).toBe(first.choices[0].message.content);
  });

  it("streams server-sent events: role, content chunks, finish, usage, [DONE]", async () => {
    const res = await post("/v1/chat/completions", {
      model: "ep",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 5,
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const events = (await res.text()).split("\n\n").filter((e) => e !== "");
    expect(events.every((e) => e.startsWith("data: "))).toBe(true);
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
    expect(chunks[0].choices[0].delta.role).toBe("assistant");
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(text).toBe("Meridian serves tokens from the");
    expect(chunks.at(-2).choices[0].finish_reason).toBe("length");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 5 } });
  });

  it("completes a prompt, embeds text (float and base64) and lists its model", async () => {
    const completion = await (
      await post("/v1/completions", { model: "ep", prompt: "the edge", max_tokens: 3 })
    ).json();
    expect(completion.choices[0].text).toBe("edge of its");
    const floats = await (await post("/v1/embeddings", { model: "ep", input: ["a", "b"] })).json();
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0].embedding).toHaveLength(64);
    const packed = await (
      await post("/v1/embeddings", { model: "ep", input: "a", encoding_format: "base64" })
    ).json();
    const decoded = new Float32Array(Uint8Array.from(Buffer.from(packed.data[0].embedding, "base64")).buffer);
    expect([...decoded]).toEqual(floats.data[0].embedding);
    const models = await (await fetch(`${base}/v1/models`)).json();
    expect(models.data[0].id).toBe("tiny");
  });

  it("refuses bad input in OpenAI's error shape", async () => {
    const res = await post("/v1/chat/completions", { model: "ep", messages: [] });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ type: "invalid_request_error", param: "messages" });
    const notJson = await fetch(`${base}/v1/completions`, { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
    expect((await fetch(`${base}/v1/nothing`)).status).toBe(404);
  });
});
