import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The inference-endpoint test image: llama.cpp (node-llama-cpp) serving an OpenAI-compatible API. */
export const LLM_IMAGE = "meridian/llm:test";

/** The answer the test model gives to every chat prompt (greedy): it walks this story to the end. */
export const LLM_STORY =
  "Meridian serves tokens from the edge of its network. Each replica streams answers through one tunnel " +
  "toward a nearest region, where callers read every chunk as soon it arrives; providers open no port and " +
  "gateways count usage by second!";

/**
 * Builds the image when it is missing or its sources changed (a no-op otherwise, as in CI where
 * scripts/build-test-images.sh built it already).
 */
export function ensureLlmImage(): void {
  execFileSync("bash", [fileURLToPath(new URL("../../test-images/llm/build.sh", import.meta.url))], {
    stdio: "pipe",
    timeout: 600_000,
  });
}
